/**
 * Pulumi mocks shared by the unit tests and `npm run synth`: records every resource with its
 * inputs, gives generated values (random passwords, image IDs) deterministic fakes, and masks
 * secrets. Runs fully offline: no CLI, no plugin, no cloud.
 */
import * as pulumi from "@pulumi/pulumi";

/** A resource as the program declared it. */
export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

/** The wire signature Pulumi uses for a secret value inside mock inputs. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isWireSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replaces every secret in a value with "[secret]". */
export function maskSecrets(v: unknown): unknown {
    if (isWireSecret(v)) return "[secret]";
    if (Array.isArray(v)) return v.map(maskSecrets);
    if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, maskSecrets(x)]));
    }
    return v;
}

/** Fake outputs for resources whose real outputs come from a provider. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: `generated-password-of-${name}` };
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: `sha256:fake-image-id-of-${String(inputs.name)}` };
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2":
            return { ...inputs, bucket: inputs.bucket ?? `${name}-fake`, arn: `arn:aws:s3:::${String(inputs.bucket ?? `${name}-fake`)}` };
        case "aws:iam/role:Role":
        case "aws:iam/policy:Policy":
            return { ...inputs, arn: `arn:aws:iam::123456789012:${type.includes("role") ? "role" : "policy"}/${name}` };
        default:
            return inputs;
    }
}

/** Tokens of every provider function (invoke) the program called, in order. */
export const invokedFunctions: string[] = [];

/**
 * Installs mocks for `stack` with the given `tile38-ha` config (keys without the namespace;
 * structured values as objects) and returns the list that fills up as resources register.
 */
export function installMocks(stack: string, config: Record<string, unknown>, secretKeys: string[] = []): RecordedResource[] {
    const recorded: RecordedResource[] = [];
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) flat[`tile38-ha:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    pulumi.runtime.setAllConfig(flat, secretKeys.map((k) => `tile38-ha:${k}`));
    pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: fakeState(args.type, args.name, args.inputs) };
            },
            call: (args) => {
                invokedFunctions.push(args.token);
                return args.inputs;
            },
        },
        "tile38-ha",
        stack,
        false,
    );
    return recorded;
}

/** Waits until no new resource has registered (nothing added to `recorded`) for `quietMs` (bounded by `timeoutMs`). */
export async function settle(recorded: readonly unknown[], quietMs = 300, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    while (Date.now() < deadline) {
        if (recorded.length === last) return;
        last = recorded.length;
        await new Promise((r) => setTimeout(r, quietMs));
    }
    throw new Error(`resources kept registering for ${timeoutMs} ms`);
}

/**
 * Loads the program (`index.ts`) under the installed mocks and waits until it stops registering
 * resources. Returns the first failure (thrown, or an unhandled rejection), or undefined.
 */
export async function runProgram(recorded: RecordedResource[]): Promise<unknown> {
    let failure: unknown;
    process.on("unhandledRejection", (e) => (failure = failure ?? e));
    try {
        require("../index");
        await settle(recorded);
    } catch (e) {
        failure = e;
    }
    return failure;
}
