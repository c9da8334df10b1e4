/**
 * Runs the program (index.ts) under Pulumi mocks in a child process — the path `npm run synth`
 * takes: {@link installMocks}, `require("../index")`, {@link settle} — and returns every resource
 * with its inputs and the resource options that decide how Pulumi updates it. A child process per
 * run, because Pulumi's mock runtime and the loaded program are process-wide: several configs can
 * then be synthesized from one test file.
 *
 * Secrets are NOT masked here: the values the mocks produce are placeholders
 * (`synth-placeholder-for-<key>` from {@link readStackFile}, `generated-password-of-<name>` for
 * generated passwords), never a real secret, and an API server needs strings where the program
 * has secrets (the Secret's `stringData`).
 */
import { spawn } from "child_process";
import * as path from "path";

/** What to synthesize: a stack name and its `tile38-ha:` values (keys without the namespace). */
export interface SynthesisRequest {
    stack: string;
    values: Record<string, unknown>;
    /** Keys whose values are secrets in the stack file. Default: none. */
    secretKeys?: string[];
}

/** The resource options Pulumi sends with a resource that decide update versus replace. */
export interface RecordedOptions {
    /** Property paths whose change makes Pulumi replace the resource (`replaceOnChanges`). */
    replaceOnChanges: string[];
    /** Delete the old object before creating its replacement (`deleteBeforeReplace`). */
    deleteBeforeReplace: boolean;
}

/** One resource the program declared. */
export interface SynthesizedResource {
    type: string;
    name: string;
    /** The inputs, secrets unwrapped to their placeholder values. */
    inputs: Record<string, unknown>;
    options: RecordedOptions;
}

/** The outcome of a synthesis: the resources, or the program's error (e.g. the config validation report). */
export type SynthesisResult = { ok: true; resources: SynthesizedResource[] } | { ok: false; error: string };

const ROOT = path.join(__dirname, "..");

/**
 * Synthesizes a stack in a child process (ts-node, transpile only), bounded by `timeoutMs`.
 * Rejects only when the child itself fails (crash, timeout, unreadable output); a program error
 * is an `{ ok: false }` result.
 */
export function synthesizeInChild(request: SynthesisRequest, timeoutMs = 90_000): Promise<SynthesisResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "synthesizeMain.ts")], {
            cwd: ROOT,
            env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`synthesis of stack ${request.stack} took longer than ${timeoutMs} ms\n${stderr}`));
        }, timeoutMs);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            if (code !== 0) {
                reject(new Error(`synthesis of stack ${request.stack} exited with ${code}\n${stderr}`));
                return;
            }
            try {
                resolve(JSON.parse(stdout) as SynthesisResult);
            } catch (e) {
                reject(new Error(`synthesis of stack ${request.stack} printed no JSON: ${(e as Error).message}\n${stderr}\n${stdout.slice(0, 2000)}`));
            }
        });
        child.stdin.end(JSON.stringify(request));
    });
}
