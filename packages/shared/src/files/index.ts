export { writeSecretFile } from './secret-file.js';
