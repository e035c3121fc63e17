#!/usr/bin/env node
// The `daebus` command: see and steer the Daebus services on a Redis.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
