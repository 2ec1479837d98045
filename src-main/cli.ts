/** `fieldbook` command-line entry point. */
import { runCli } from './cli/commands';

const output = {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
  color: process.stdout.isTTY === true && !process.env.NO_COLOR,
};

runCli(process.argv.slice(2), output).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 3;
  },
);
