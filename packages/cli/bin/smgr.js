#!/usr/bin/env node
// `smgr` from a checkout: runs the build output (@smgr/shared/launch-built).
import { launchBuilt } from '@smgr/shared/launch-built';

await launchBuilt('smgr', new URL('../dist/main.js', import.meta.url));
