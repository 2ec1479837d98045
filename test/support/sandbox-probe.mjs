// Started with the parser process's launch options (test/integration/parser-sandbox.test.ts):
// tries what a hostile document would want to do and reports what the sandbox allowed.
import childProcess from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const attempt = (fn) => {
  try {
    fn();
    return 'allowed';
  } catch (err) {
    return err.code ?? String(err);
  }
};

process.once('message', (msg) => {
  const report = {
    readApp: attempt(() => fs.readFileSync(msg.appFile)),
    readUserFile: attempt(() => fs.readFileSync(msg.userFile)),
    writeOutside: attempt(() => fs.writeFileSync(path.join(path.dirname(msg.userFile), 'dropped.txt'), 'x')),
    writeScratch: attempt(() => fs.writeFileSync(path.join(os.tmpdir(), 'scratch.txt'), 'x')),
    spawn: attempt(() => childProcess.spawnSync(process.execPath, ['--version'])),
    worker: attempt(() => new Worker('1', { eval: true }).terminate()),
    tmpdir: os.tmpdir(),
    env: Object.keys(process.env).sort(),
  };
  process.send(report, () => process.exit(0));
});
