#!/usr/bin/env node
// `smgr-controller` from a checkout: runs the build output (@smgr/shared/launch-built).
import { launchBuilt } from '@smgr/shared/launch-built';

await launchBuilt('smgr-controller', new URL('../dist/main.js', import.meta.url));
