export { writeSecretFile } from './secret-file.js';
export { mkdirPrivateSync, openPrivateSync, writePrivateFileSync, PRIVATE_FILE_MODE, PRIVATE_DIR_MODE } from './private-files.js';
