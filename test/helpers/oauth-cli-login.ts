/**
 * `mailroom oauth login` as an admin runs it in a terminal: the built CLI in
 * a child process; once it prints the sign-in address, a real HTTP client
 * plays the browser at the test IdP and brings the answer back to the
 * loopback listener.
 */
import { spawn } from 'node:child_process';
import type { CliResult } from './cli';
import { CLI } from './paths';
import type { TestIdp } from './oauth-idp';

/** Runs `mailroom oauth login <mailbox> --json` and signs in at the IdP when the address appears. */
export function loginWithBrowser(idp: TestIdp, dataDir: string, env: NodeJS.ProcessEnv, mailbox = 'Support', extra: string[] = []): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'oauth', 'login', mailbox, '--json', '--timeout', '30', '--data-dir', dataDir, ...extra], {
      env: { ...process.env, MAILROOM_DATA_DIR: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let browsed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      const url = /(https:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(stderr)?.[1];
      if (url && !browsed) {
        browsed = true;
        void (async () => {
          const answer = await idp.authorize(url);
          await fetch(answer.location.origin + '/', {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString(),
          });
        })().catch(reject);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}
