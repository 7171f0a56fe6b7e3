#!/usr/bin/env node
import { SMGR_VERSION } from '@smgr/shared';
process.stdout.write(`smgr ${SMGR_VERSION}\n`);
