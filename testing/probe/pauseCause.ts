/**
 * What a writer's longest pause overlapped: this process's own event-loop lag (a client that was
 * not scheduled acknowledges late whatever the server did) and timed windows of what the cluster
 * did (a rewrite under way, a follower away). On a shared, loaded machine a single pause figure
 * says little; this says where it fell (issue 27: the pause under compaction).
 */
import { resp } from "../../components/status/resp";
import { Sampler } from "./sampler";
import { Ack } from "./writer";

/** A span of time and what happened in it. */
export interface Span {
    from: number;
    to: number;
    what: string;
}

/** Records the spans in which a 10 ms timer of this process fired late by `thresholdMs` or more. */
export class EventLoopLag {
    readonly spans: Span[] = [];
    private timer: NodeJS.Timeout | undefined;

    start(thresholdMs = 50): this {
        let last = Date.now();
        this.timer = setInterval(() => {
            const now = Date.now();
            if (now - last - 10 >= thresholdMs) this.spans.push({ from: last, to: now, what: `event loop ${now - last - 10} ms late` });
            last = now;
        }, 10);
        return this;
    }

    stop(): Span[] {
        if (this.timer) clearInterval(this.timer);
        return this.spans;
    }
}

/** Samples every 20 ms whether `node` rewrites its AOF (INFO persistence; a rewrite of 10 k points takes 20-200 ms). */
export function watchRewriting(node: { host: string; port: number }, password: string): Sampler<boolean> {
    return new Sampler(async () => /aof_rewrite_in_progress:1/.test(String(await resp(node.port, ["INFO", "persistence"], password, { host: node.host, timeoutMs: 1000 }))), 20);
}

/** Spans in which `holds(sample)` was true, from samples taken in time order (each span runs from its first sample to the next sample after its last). */
export function spansWhere<T>(samples: { at: number; value: T }[], holds: (v: T) => boolean, what: string): Span[] {
    const out: Span[] = [];
    let from: number | undefined;
    for (const s of samples) {
        if (holds(s.value)) from ??= s.at;
        else if (from !== undefined) {
            out.push({ from, to: s.at, what });
            from = undefined;
        }
    }
    if (from !== undefined) out.push({ from, to: samples[samples.length - 1].at, what });
    return out;
}

/** The gaps between acknowledgements in [from, to] (the first from `from`). */
function gapsBetween(acks: Ack[], from: number, to: number): { from: number; to: number }[] {
    const gaps: { from: number; to: number }[] = [];
    let prev = from;
    for (const a of acks) {
        if (a.ackAt < from || a.ackAt > to) continue;
        gaps.push({ from: prev, to: a.ackAt });
        prev = a.ackAt;
    }
    return gaps;
}

/** The longest gap between acknowledgements in [from, to] that overlapped one of `spans` (0 without one; pure). */
export function longestGapOverlapping(acks: Ack[], from: number, to: number, spans: Span[]): number {
    const overlapping = gapsBetween(acks, from, to).filter((g) => spans.some((s) => s.from < g.to && s.to > g.from));
    return Math.max(0, ...overlapping.map((g) => g.to - g.from));
}

/** The `count` longest gaps between acknowledgements in [from, to], each with the spans it overlapped (pure). */
export function pausesExplained(acks: Ack[], from: number, to: number, spans: Span[], count = 3): string[] {
    return gapsBetween(acks, from, to)
        .sort((a, b) => b.to - b.from - (a.to - a.from))
        .slice(0, count)
        .map((g) => {
            const over = spans.filter((s) => s.from < g.to && s.to > g.from).map((s) => s.what);
            return `${g.to - g.from} ms from ${new Date(g.from).toISOString()}: ${over.length ? [...new Set(over)].join(", ") : "nothing sampled"}`;
        });
}
