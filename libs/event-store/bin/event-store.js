#!/usr/bin/env node
// The `event-store` command: a file that exists before the build, so that installing the
// package (or `npm ci` in its workspace) links it; the command itself is compiled to dist/.
import '../dist/cli/event-store.cli.js';
