#!/usr/bin/env node
import { runCli } from './run-cli';

/** The `nestjs-rls-tenancy` executable: see {@link runCli}. */
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
