#!/usr/bin/env node
// `smgr-agent` from a checkout: runs the build output (@smgr/shared/launch-built).
import { launchBuilt } from '@smgr/shared/launch-built';

await launchBuilt('smgr-agent', new URL('../dist/main.js', import.meta.url));
