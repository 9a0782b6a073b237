/**
 * Runs one command for the lab and the booted guests: its own process group (so a timeout kills everything it
 * started, e.g. `ip netns exec` or `nsenter` and their children), stdout and stderr collected, stdin fed from `input`.
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** `label` names the runner in the line added to stderr when the timeout kills the command. */
export function execChild(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: ExecOptions,
  label: string,
): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      stderr += `\n${label}: killed after ${timeoutMs} ms`;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    }, timeoutMs);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ok({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // A command that exits without reading its input closes the pipe: EPIPE here is not the command's failure
    // (its exit code says how it went), and unhandled it would crash the process.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
