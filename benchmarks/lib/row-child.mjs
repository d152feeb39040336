// One measurement (benchmarks/child.mjs) in a child process of its own, for both orchestrators
// (run.mjs, links.mjs): it answers over IPC with { ok, result } or { ok: false, error }.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const childScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'child.mjs');

/**
 * @param {string} id the row, named in the error when the child fails
 * @param {string[]} childArgs
 * @param {{ execPath?: string, execArgv: string[], env: NodeJS.ProcessEnv }} options
 * @returns {Promise<any>} the child's result
 */
export function measureInChild(id, childArgs, { execPath, execArgv, env }) {
  const child = fork(childScript, childArgs, { ...(execPath ? { execPath } : {}), execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let answer;
    child.on('message', (m) => (answer = m));
    child.on('exit', (code) => {
      if (answer?.ok) resolve(answer.result);
      else reject(new Error(`row ${id} failed (exit ${code}): ${answer?.error ?? 'no result'}`));
    });
  });
}
