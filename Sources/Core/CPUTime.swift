import Foundation

/// CPU time this process has used so far, all threads together, in seconds
/// (`CLOCK_PROCESS_CPUTIME_ID`). On a shared machine it is steadier than wall time, which also
/// counts the time other processes hold the cores. Benchmarks and progress summaries take the
/// difference of two readings.
public func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
