/**
 * `npm run validate:k8s -- <stack>`: every Kubernetes object of Pulumi.<stack>.yaml, as the
 * program declares it under Pulumi mocks (the `npm run synth` path), applied to a REAL
 * kube-apiserver (v1.32.2, with etcd, started on 127.0.0.1:26010-26012 and stopped again):
 * server-side apply with strict field validation, namespace first. Prints what the server said
 * for each object, whether it stored every field as sent, whether a second apply changes nothing,
 * and whether the pods and volume claims the StatefulSets would create are admitted (dry run).
 * Exit 0 when all of that holds, 1 otherwise, 2 on usage errors or when the server cannot run.
 *
 * Secrets are placeholders (the stack file's secure values are never decrypted). Builds the
 * server with scripts/build-kube.sh on first use (needs Go; ~7 min, cached in $HOME).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { kubernetesManifests } from "../testing/fixtures/kube/k8sManifests";
import { admitPods, applyAll, formatReport, isClean } from "../testing/fixtures/kube/k8sValidation";
import { defaultBinDir, findKubeBinaries, KUBERNETES_VERSION, RunningKubeApiServer, startKubeApiServer, stopAllKubeProcesses } from "../testing/fixtures/kube/kubeApiServer";
import { readStackFile } from "../testing/stackFile";
import { synthesizeInChild } from "../testing/synthesize";

/** Ports of validate:k8s (the tests use 26000-26002). */
const PORTS = { api: 26010, etcdClient: 26011, etcdPeer: 26012 };
const ROOT = path.join(__dirname, "..");

function say(line: string): void {
    process.stdout.write(`${line}\n`);
}

function binaries() {
    let found = findKubeBinaries();
    if (found.ok) return found;
    say(`kube-apiserver ${KUBERNETES_VERSION} not built yet (${found.reason}); building it now`);
    const r = spawnSync("bash", [path.join(ROOT, "scripts", "build-kube.sh")], { stdio: ["ignore", "ignore", "inherit"], timeout: 45 * 60_000 });
    if (r.status !== 0) return { ok: false as const, reason: `scripts/build-kube.sh failed (${r.status ?? r.signal})` };
    found = findKubeBinaries(defaultBinDir());
    return found;
}

async function main(): Promise<number> {
    const stack = process.argv[2];
    if (!stack) {
        process.stderr.write("usage: npm run validate:k8s -- <stack>   (reads Pulumi.<stack>.yaml)\n");
        return 2;
    }
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        process.stderr.write(`no stack file ${file}\n`);
        return 2;
    }
    const { values, secretKeys } = readStackFile(file);
    const synthesized = await synthesizeInChild({ stack, values, secretKeys });
    if (!synthesized.ok) {
        process.stderr.write(`${synthesized.error}\n`);
        return 1;
    }
    const manifests = kubernetesManifests(synthesized.resources);
    if (manifests.length === 0) {
        process.stderr.write(`stack ${stack} declares no Kubernetes objects (target ${String(values.target ?? "docker")})\n`);
        return 2;
    }
    const bins = binaries();
    if (!bins.ok) {
        process.stderr.write(`cannot run kube-apiserver: ${bins.reason}\n`);
        return 2;
    }

    let server: RunningKubeApiServer | undefined;
    let failures = 0;
    // Ctrl-C: stop both servers (bounded) before exiting.
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => void stopAllKubeProcesses().finally(() => process.exit(130)));
    }
    try {
        server = await startKubeApiServer({ binaries: bins, ports: PORTS });
        say(`kube-apiserver ${KUBERNETES_VERSION} ready on ${server.url} in ${server.startMs} ms; applying ${manifests.length} objects of stack ${stack} (server-side apply, fieldValidation=Strict)`);
        const first = await applyAll(server.admin, manifests);
        for (const r of first) {
            say(formatReport(r));
            if (!isClean(r)) failures++;
        }
        say("second apply of the same objects (must change nothing):");
        const second = await applyAll(server.admin, manifests);
        for (const r of second) {
            if (r.outcome !== "unchanged" || !isClean(r)) {
                failures++;
                say(formatReport(r));
            }
        }
        const changed = second.filter((r) => r.outcome === "configured" || r.outcome === "created").length;
        const refusedAgain = second.filter((r) => r.outcome === "refused").length;
        say(changed + refusedAgain === 0 ? `unchanged  all ${second.length} objects` : `${changed} object(s) changed and ${refusedAgain} refused on the second apply`);
        say("pods and volume claims the StatefulSets would create (dry run: validation and admission):");
        const refused = first.filter((r) => r.outcome === "refused").map((r) => r.manifest);
        for (const p of await admitPods(server.admin, manifests, refused)) {
            say(`${(p.admitted ? "admitted" : "refused").padEnd(10)} ${p.id}${p.message ? `: ${p.message}` : ""}`);
            for (const w of p.warnings) say(`           warning: ${w}`);
            if (!p.admitted) failures++;
        }
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        if (server) process.stderr.write(`${server.logTail(60)}\n`);
        return 2;
    } finally {
        await server?.stop();
    }
    say(failures === 0 ? `OK: the API server accepted and stored every object of stack ${stack}` : `FAILED: ${failures} problem(s) above`);
    return failures === 0 ? 0 : 1;
}

// Exit only once stdout and stderr are flushed.
main().then(
    (code) => process.stdout.write("", () => process.stderr.write("", () => process.exit(code))),
    (e: unknown) => process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`, () => process.exit(2)),
);
