/**
 * Samples something every `intervalMs` while a change or a failure runs (which nodes answer during
 * a `pulumi up`, how many writable leaders there are during a hand-over), so a test can ask what
 * was true at every moment, not only before and after. A probe that throws is a missing sample.
 */
import { sleep } from "./wait";

export interface Sample<T> {
    at: number;
    value: T;
}

export class Sampler<T> {
    readonly samples: Sample<T>[] = [];
    private running = true;
    private readonly loop: Promise<void>;

    constructor(private readonly probe: () => Promise<T>, private readonly intervalMs: number) {
        this.loop = this.run();
    }

    private async run(): Promise<void> {
        while (this.running) {
            const started = Date.now();
            try {
                this.samples.push({ at: started, value: await this.probe() });
            } catch {
                /* a missing sample */
            }
            const wait = started + this.intervalMs - Date.now();
            if (wait > 0) await sleep(wait);
        }
    }

    async stop(): Promise<Sample<T>[]> {
        this.running = false;
        await this.loop;
        return this.samples;
    }
}

/** [start, end] of every run of consecutive samples for which `pred` holds. */
export function intervalsWhere<T>(samples: Sample<T>[], pred: (v: T) => boolean): [number, number][] {
    const out: [number, number][] = [];
    let open: number | undefined;
    for (const s of samples) {
        if (pred(s.value)) {
            if (open === undefined) open = s.at;
        } else if (open !== undefined) {
            out.push([open, s.at]);
            open = undefined;
        }
    }
    if (open !== undefined && samples.length) out.push([open, samples[samples.length - 1].at]);
    return out;
}
