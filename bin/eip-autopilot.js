#!/usr/bin/env node
// The operator CLI. It runs the TypeScript sources directly through tsx's ESM loader (a pinned dependency), so
// `npx eip-autopilot` works right after `npm ci` without a build step.
import { register } from 'tsx/esm/api';

// Powertools logs go to stdout; keep the CLI's output clean unless asked for.
process.env.POWERTOOLS_LOG_LEVEL ??= process.argv.includes('--verbose') ? 'INFO' : 'SILENT';
// Metrics are for the Lambda functions (EMF on stdout); an operator's run must not emit them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
