/** The version every smgr binary reports; agents send it in Hello. */
export const SMGR_VERSION = '0.1.0';
