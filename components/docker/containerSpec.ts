import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { DockerSettings } from "../../config/types";

/** Where the rendered files live inside every container. */
export const SCRIPT_DIR = "/etc/tile38-ha";

/** File name of the Tile38 stop (hand-over) script in {@link SCRIPT_DIR}, for `npm run failover`. */
export const TILE38_STOP_SCRIPT = "tile38-stop.sh";

/** Address a container's health check dials: the bind address, or loopback for a wildcard bind. */
export function localAddress(docker: DockerSettings): string {
    return docker.bindAddress === "0.0.0.0" || docker.bindAddress === "::" ? "127.0.0.1" : docker.bindAddress;
}

/** `KEY=value` lines for a container's `envs`. */
export function envList(vars: Record<string, string | number | undefined>): string[] {
    return Object.entries(vars)
        .filter(([, v]) => v !== undefined && v !== "")
        .map(([k, v]) => `${k}=${v}`);
}

/**
 * Health-check timings shared by every container (Docker duration strings). The interval also
 * paces a rollout: a replaced container counts as healthy at its first passing check, and Docker
 * 20.10 has no faster start interval.
 */
export const HEALTHCHECK_TIMINGS = { interval: "2s", timeout: "2s", retries: 3, startPeriod: "30s" } as const;

/**
 * What makes a `pulumi up` roll instead of replacing every sibling at once, and a stop graceful:
 * - `wait`: creating a container completes only once it is healthy (within `waitTimeout`), so a
 *   container that depends on it (see {@link chainedAfter}) is replaced only then, and a broken
 *   release fails the `pulumi up` at the first container instead of replacing all of them;
 * - `destroyGraceSeconds`: the provider stops a container with SIGTERM and this grace before it
 *   removes it (unset it sends SIGKILL at once), so a Tile38 leader hands over first.
 */
export function rolloutSettings(docker: DockerSettings, graceSeconds: number): { wait: true; waitTimeout: number; destroyGraceSeconds: number; stopTimeout: number } {
    return { wait: true, waitTimeout: docker.rolloutTimeoutSeconds, destroyGraceSeconds: graceSeconds, stopTimeout: graceSeconds };
}

/**
 * Resource options that make containers[i] wait for the container before it in a rollout
 * (`before[i]`, from an order known now or only at deployment). Pulumi registers a resource once
 * its explicit dependencies are done (created and, with `wait`, healthy), and deletes in the
 * reverse order. A `dependsOn`-only edge never makes Pulumi replace the dependent. `after`: what
 * every one of them waits for besides (the password switch; the other process kind's containers).
 */
export function chainedAfter(
    containers: readonly docker.Container[],
    before: pulumi.Input<(number | undefined)[]>,
    i: number,
    after: pulumi.Input<pulumi.Resource[]> = [],
): pulumi.Input<pulumi.Resource[]> {
    return pulumi.all([before, after]).apply(([b, first]) => {
        const prev = b[i];
        return [...first, ...(prev === undefined ? [] : [containers[prev]])];
    });
}

/**
 * Entrypoint that runs a rendered script with its non-secret settings in plain view
 * (`env K=V … /bin/sh script`), so that `synth` and `docker inspect` show ports and
 * addresses, while the passwords travel separately in the secret `envs`.
 */
export function scriptEntrypoint(scriptPath: string, vars: Record<string, string | number | undefined>): string[] {
    return ["/usr/bin/env", ...envList(vars), "/bin/sh", scriptPath];
}

/**
 * The container's secret environment: both passwords (and any extra values), wrapped as one
 * secret so that no password ever shows in state or `synth` in plain text.
 */
export function secretEnvs(tile38Password: pulumi.Input<string>, sentinelPassword: pulumi.Input<string>, extra: Record<string, string> = {}): pulumi.Output<string[]> {
    return pulumi.secret(
        pulumi.all([tile38Password, sentinelPassword]).apply(([t38, sen]) => envList({ TILE38_PASSWORD: t38, SENTINEL_PASSWORD: sen, ...extra })),
    );
}

/** A named data volume for one process, kept when the stack is destroyed (it holds the data). */
export function dataVolume(processName: string, parent: pulumi.Resource): docker.Volume {
    return new docker.Volume(`${processName}-data`, { name: `${processName}-data` }, { parent, retainOnDelete: true });
}
