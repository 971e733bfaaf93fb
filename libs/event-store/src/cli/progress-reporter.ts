import { Presets, SingleBar } from 'cli-progress';
import type { OperationProgress, ProgressListener } from '../operations/progress.js';

/** Where progress goes: stderr by default, so that stdout holds results alone. */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Progress of one long command on stderr: a bar with counts, rate and ETA on a terminal; on
 * anything else (a log file, a CI job) one line at the start, one every `intervalSeconds` and one
 * at the end, with the same figures.
 */
export class ProgressReporter {
  private readonly started = Date.now();
  private latest: OperationProgress = { done: 0, total: undefined };
  private lastLine = 0;
  private bar: SingleBar | undefined;

  constructor(
    private readonly label: string,
    private readonly intervalSeconds: number,
    private readonly output: ProgressOutput = process.stderr,
  ) {}

  /** This reporter as the `onProgress` of an operation. */
  get listener(): ProgressListener {
    return (progress) => this.update(progress);
  }

  update(progress: OperationProgress): void {
    this.latest = progress;
    if (this.output.isTTY === true) {
      this.drawBar(progress);
      return;
    }
    const now = Date.now();
    if (this.lastLine === 0 || now - this.lastLine >= this.intervalSeconds * 1000) {
      this.lastLine = now;
      this.output.write(`${this.line()}\n`);
    }
  }

  /** The last figures, once, and the bar closed; `outcome` ends the line (e.g. `done`, `interrupted`). */
  finish(outcome: string): void {
    if (this.bar !== undefined) {
      this.bar.update(this.latest.done, this.payload());
      this.bar.stop();
    }
    this.output.write(`${this.line()} ${outcome}\n`);
  }

  private drawBar(progress: OperationProgress): void {
    if (this.bar === undefined) {
      this.bar = new SingleBar(
        {
          format: `${this.label} {bar} {value}/{totalText} {rate}/s ETA {etaText}`,
          stream: this.output as unknown as NodeJS.WritableStream,
          hideCursor: true,
          etaBuffer: 20,
          fps: 5,
          forceRedraw: true,
        },
        Presets.shades_classic,
      );
      this.bar.start(progress.total ?? 0, progress.done, this.payload());
    }
    if (progress.total !== undefined) this.bar.setTotal(Math.max(progress.total, progress.done));
    this.bar.update(progress.done, this.payload());
  }

  private payload(): Record<string, string> {
    return { totalText: this.totalText(), rate: String(Math.round(this.rate())), etaText: this.eta() };
  }

  private line(): string {
    const { done } = this.latest;
    const percent = this.latest.total ? ` (${Math.floor((100 * done) / Math.max(this.latest.total, 1))}%)` : '';
    return `${this.label}: ${done}/${this.totalText()}${percent}, ${Math.round(this.rate())}/s, ETA ${this.eta()}`;
  }

  private totalText(): string {
    return this.latest.total === undefined ? '?' : String(this.latest.total);
  }

  private rate(): number {
    const seconds = (Date.now() - this.started) / 1000;
    return seconds > 0 ? this.latest.done / seconds : 0;
  }

  private eta(): string {
    const { done, total } = this.latest;
    const rate = this.rate();
    if (total === undefined || rate === 0) return '?';
    return formatSeconds(Math.max(0, (total - done) / rate));
  }
}

function formatSeconds(seconds: number): string {
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  return minutes < 60 ? `${minutes}m${whole % 60}s` : `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}
