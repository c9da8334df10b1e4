/**
 * Child-process entry of {@link synthesizeInChild}: reads a {@link SynthesisRequest} (JSON) on
 * stdin, runs index.ts under the shared Pulumi mocks, prints a {@link SynthesisResult} (JSON) on
 * stdout. Not meant to be run by hand: `npm run synth` is the user-facing view.
 */
import { isWireSecret, installMocks, runProgram } from "./pulumiMocks";
import type { RecordedOptions, SynthesisRequest, SynthesisResult } from "./synthesize";

/** Replaces every wire secret by its (placeholder) value. */
function unwrapSecrets(v: unknown): unknown {
    if (isWireSecret(v)) return unwrapSecrets(v.value);
    if (Array.isArray(v)) return v.map(unwrapSecrets);
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, unwrapSecrets(x)]));
    }
    return v;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getReplaceonchangesList(): string[];
    getDeletebeforereplace(): boolean;
}

/**
 * Records the options of every registration. The mocks' `newResource` sees only type, name and
 * inputs, so this wraps the mock monitor's `registerResource`, which receives the whole request.
 */
function recordOptions(): Map<string, RecordedOptions> {
    const options = new Map<string, RecordedOptions>();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mocks = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: { prototype: { registerResource(req: RegisterRequest, cb: unknown): unknown } } };
    const original = mocks.MockMonitor.prototype.registerResource;
    mocks.MockMonitor.prototype.registerResource = function (req: RegisterRequest, cb: unknown) {
        options.set(`${req.getType()}::${req.getName()}`, {
            replaceOnChanges: req.getReplaceonchangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
        });
        return original.call(this, req, cb);
    };
    return options;
}

async function main(): Promise<SynthesisResult> {
    let input = "";
    for await (const chunk of process.stdin) input += String(chunk);
    const request = JSON.parse(input) as SynthesisRequest;
    const options = recordOptions();
    const recorded = installMocks(request.stack, request.values, request.secretKeys ?? []);
    const failure = await runProgram(recorded);
    if (failure) return { ok: false, error: failure instanceof Error ? failure.message : String(failure) };
    return {
        ok: true,
        resources: recorded.map((r) => ({
            type: r.type,
            name: r.name,
            inputs: unwrapSecrets(r.inputs) as Record<string, unknown>,
            options: options.get(`${r.type}::${r.name}`) ?? { replaceOnChanges: [], deleteBeforeReplace: false },
        })),
    };
}

main().then(
    (result) => process.stdout.write(JSON.stringify(result), () => process.exit(0)),
    (e: unknown) => process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`, () => process.exit(1)),
);
