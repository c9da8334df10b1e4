/** TCP probes shared by the fixtures and the test harnesses. */
import * as net from "net";

/** Whether something accepts a TCP connection on `host`:`port` now (one attempt, bounded by `timeoutMs`). */
export function acceptsTcp(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port });
        const done = (v: boolean) => {
            s.destroy();
            resolve(v);
        };
        s.setTimeout(timeoutMs, () => done(false));
        s.once("connect", () => done(true));
        s.once("error", () => done(false));
    });
}
