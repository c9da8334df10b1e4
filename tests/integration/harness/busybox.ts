import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Absolute path of a program on the test machine's PATH (then in `alsoIn`), or undefined. */
export function which(program: string, alsoIn: string[] = []): string | undefined {
    for (const dir of [...(process.env.PATH ?? "").split(path.delimiter), ...alsoIn]) {
        const p = path.join(dir, program);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            return p;
        } catch {
            /* next */
        }
    }
    return undefined;
}

/**
 * A PATH that resembles the Alpine images: a directory with every busybox applet (sh, nc, awk,
 * sed, sort, uniq, tr, head, date, grep, …) and a directory with only the given extra programs
 * (e.g. redis-server). Nothing else from the host is reachable, so a script that needs a GNU
 * tool or bash fails here as it would in the image.
 */
export function busyboxPath(root: string, extra: Record<string, string> = {}): string {
    const busybox = which("busybox");
    if (!busybox) throw new Error("busybox is not installed (apt-get install -y busybox)");
    const bb = path.join(root, "busybox-bin");
    const tools = path.join(root, "tools-bin");
    fs.mkdirSync(bb, { recursive: true });
    fs.mkdirSync(tools, { recursive: true });
    const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => /^[A-Za-z0-9_.[-]+$/.test(a));
    for (const a of applets) {
        const link = path.join(bb, a);
        if (!fs.existsSync(link)) fs.symlinkSync(busybox, link);
    }
    // Alpine's busybox has `flock` (the start script locks the data directory with it); Debian's
    // busybox-static does not: util-linux's stands in, with the same `flock -n FD` use.
    const hostFlock = applets.includes("flock") ? undefined : which("flock");
    for (const [name, target] of Object.entries({ ...(hostFlock ? { flock: hostFlock } : {}), ...extra })) {
        const link = path.join(tools, name);
        if (!fs.existsSync(link)) fs.symlinkSync(target, link);
    }
    return `${bb}:${tools}`;
}

/** The environment every script runs with: only what is given, plus PATH/HOME/TZ. */
export function scriptEnv(pathValue: string, home: string, vars: Record<string, string | undefined>): Record<string, string> {
    const env: Record<string, string> = { PATH: pathValue, HOME: home, TZ: "UTC" };
    for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
    return env;
}

/** Runs a script file with busybox sh (as `sh script` in the Alpine image). */
export function busyboxSh(): string {
    const busybox = which("busybox");
    if (!busybox) throw new Error("busybox is not installed (apt-get install -y busybox)");
    return busybox;
}
