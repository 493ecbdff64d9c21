// Peak resident memory of this process, measured from now on. getrusage's
// maxRSS survives fork + exec, so a child of a large process starts with its
// parent's peak; on Linux the peak is reset (clear_refs) and read from VmHWM.
import { readFileSync, writeFileSync } from 'node:fs';

export interface PeakMeter {
  /** peak RSS in bytes since the meter was made */
  bytes(): number;
  /** how the peak is measured */
  how: string;
}

export function peakMeter(): PeakMeter {
  let reset = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    reset = true;
  } catch {
    // not Linux, or not allowed: fall back to getrusage (an upper bound)
  }
  return {
    bytes: () => {
      const hwm = reset ? /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8')) : null;
      return hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
    },
    how: reset ? 'VmHWM after clear_refs' : "getrusage maxRSS (includes the parent's peak at fork)",
  };
}
