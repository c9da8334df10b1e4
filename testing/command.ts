/** Runs a command to its end, bounded, and returns its exit code and output (never throws on a non-zero exit). */
import { spawn } from "child_process";

export interface CommandResult {
    code: number | null;
    stdout: string;
    stderr: string;
    durationMs: number;
}

export interface CommandOptions {
    env?: Record<string, string | undefined>;
    cwd?: string;
    /** Kill the command (SIGKILL) after this long. */
    timeoutMs: number;
    input?: string;
    /** Called with each chunk of standard output as it arrives. */
    onStdout?: (chunk: string) => void;
}

export function runCommand(command: string, args: string[], opts: CommandOptions): Promise<CommandResult> {
    const started = Date.now();
    return new Promise((resolve) => {
        const child = spawn(command, args, { env: opts.env as NodeJS.ProcessEnv, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => {
            stdout += d.toString();
            opts.onStdout?.(d.toString());
        });
        child.stderr.on("data", (d) => (stderr += d.toString()));
        const timer = setTimeout(() => {
            stderr += `\n[killed after ${opts.timeoutMs} ms]`;
            child.kill("SIGKILL");
        }, opts.timeoutMs);
        child.on("error", (e) => {
            clearTimeout(timer);
            resolve({ code: null, stdout, stderr: `${stderr}${e.message}`, durationMs: Date.now() - started });
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, durationMs: Date.now() - started });
        });
        // A command that exits without reading its input closes the pipe: not an error of ours.
        child.stdin.on("error", () => undefined);
        child.stdin.end(opts.input ?? "");
    });
}

/** As {@link runCommand}, but throws with the output when the exit code is not 0. */
export async function mustRun(command: string, args: string[], opts: CommandOptions): Promise<CommandResult> {
    const r = await runCommand(command, args, opts);
    if (r.code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.code}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
    return r;
}
