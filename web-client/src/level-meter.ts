/** Microphone level for the speaking indicator when no server reports it. */

const SPEAKING_LEVEL = 0.04;

export class LevelMeter {
  private readonly context = new AudioContext();
  private readonly analyser = this.context.createAnalyser();
  private readonly samples: Float32Array<ArrayBuffer>;
  private timer: number | undefined;

  constructor(stream: MediaStream) {
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.context.createMediaStreamSource(stream).connect(this.analyser);
  }

  /** Calls `onLevel(level, speaking)` every `intervalMs` until `close()`. */
  start(onLevel: (level: number, speaking: boolean) => void, intervalMs = 250): void {
    void this.context.resume();
    this.timer = window.setInterval(() => {
      this.analyser.getFloatTimeDomainData(this.samples);
      let sum = 0;
      for (const x of this.samples) sum += x * x;
      const rms = Math.sqrt(sum / this.samples.length);
      onLevel(Math.min(1, rms * 4), rms > SPEAKING_LEVEL);
    }, intervalMs);
  }

  async close(): Promise<void> {
    window.clearInterval(this.timer);
    await this.context.close();
  }
}
