/** The machine a figure was measured on, as the recorded figures name it. */
import * as os from "os";

/** Host, cores, memory and kernel, and the load average when asked (these machines are shared: a figure says how busy it was). */
export function machine(): string {
    const cpus = os.cpus();
    const load = os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" / ");
    return `${os.hostname()}: ${cpus.length} × ${cpus[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()} (load average 1 / 5 / 15 min: ${load})`;
}
