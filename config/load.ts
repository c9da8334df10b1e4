import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE, parseStackConfig, RawStackValues } from "./parse";
import { SECRET_KEYS, SecretKey } from "./schema";
import { StackConfig } from "./types";
import { ConfigValidationError } from "./validate";

/** The stack config plus its secrets, each a secret Output or undefined when not set. */
export interface LoadedStackConfig {
    config: StackConfig;
    secrets: Partial<Record<SecretKey, pulumi.Output<string>>>;
}

/**
 * Reads the `tile38-ha` namespace of the current stack, applies defaults and validates.
 * Throws {@link ConfigValidationError} listing every problem at once.
 * Secret keys are read with `getSecret`, so their values never leave Pulumi's secret wrapper.
 */
export function loadStackConfig(platform: string = process.platform): LoadedStackConfig {
    const raw: RawStackValues = {};
    const prefix = `${NAMESPACE}:`;
    const secretSet = new Set<string>(SECRET_KEYS);
    for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!fullKey.startsWith(prefix)) continue;
        const key = fullKey.slice(prefix.length);
        // Secrets are read below through getSecret; the parser only needs to know they are set.
        raw[key] = secretSet.has(key) ? "(secret)" : value;
    }
    const { config, issues } = parseStackConfig(raw, { stack: pulumi.getStack(), platform });
    if (issues.length > 0) throw new ConfigValidationError(issues);

    const cfg = new pulumi.Config(NAMESPACE);
    const secrets: LoadedStackConfig["secrets"] = {};
    for (const key of SECRET_KEYS) {
        const v = cfg.getSecret(key);
        if (v !== undefined) secrets[key] = v;
    }
    return { config, secrets };
}
