namespace ActorScheduler.Benchmarks.Harness;

/// <summary>What one worker process measured, printed as one JSON line prefixed with <see cref="Prefix"/>.</summary>
public sealed record WorkerResult
{
    public const string Prefix = "RESULT ";

    public static readonly System.Text.Json.JsonSerializerOptions Json = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The percentiles kept for the lateness plots.</summary>
    public static readonly double[] PlotPercentiles =
        [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.75, 99.9, 99.95, 99.99, 100];

    public required string Engine { get; init; }
    public required string Mode { get; init; }
    public required string Label { get; init; }
    public int Tasks { get; init; }
    public double PeriodMs { get; init; }
    public double WindowMs { get; init; }
    public long Demanded { get; init; }
    public long Delivered { get; init; }
    /// <summary>
    /// Off-grid runs: runs starting in a period whose due time was already served, other than second runs (the harness's
    /// time reading of a run late by about a period or early; see <see cref="RunRecorder"/>). Sharded throughput: gaps
    /// under T/2. Saved as "Duplicates", the name results.json has always used (before second runs were told apart).
    /// </summary>
    [System.Text.Json.Serialization.JsonPropertyName("Duplicates")]
    public long OffGrid { get; init; }

    /// <summary>Second runs of one occurrence, by the occurrence id the engine gives its runs; null when it gives none.</summary>
    public long? SecondRuns { get; init; }

    /// <summary>Sharded throughput only: gaps of 1.5 T or more between two runs of a task (and in OffGrid, gaps under T/2).</summary>
    public long Missed { get; init; }
    public double P50Ms { get; init; }
    public double P99Ms { get; init; }
    public double P999Ms { get; init; }
    public double MaxMs { get; init; }
    public double[] PercentileValuesMs { get; init; } = [];
    public double CpuSeconds { get; init; }
    public double WallSeconds { get; init; }
    public double StartMs { get; init; }
    public double FirstRunMs { get; init; }
    public double HeapBytes { get; init; }

    /// <summary>Garbage collections (all generations) during the measured window.</summary>
    public int GcCount { get; init; }

    /// <summary>Time the runtime was paused for garbage collection during the measured window.</summary>
    public double GcPauseMs { get; init; }

    /// <summary>Bytes allocated by the whole process during the measured window.</summary>
    public long AllocatedBytes { get; init; }

    /// <summary>Bytes allocated per run delivered (engine, harness and runtime together).</summary>
    public double AllocatedPerRun => Delivered == 0 ? double.NaN : (double)AllocatedBytes / Delivered;
    public string? Error { get; init; }

    /// <summary>With a state store: how long after the start call the schedule began (the keeper's recovery), in ms.</summary>
    public double ScheduleStartMs { get; init; }

    /// <summary>CPU of the PostgreSQL server of ACTOR_SCHEDULER_PG_DIR over the window (0 without one).</summary>
    public double ServerCpuSeconds { get; init; }

    /// <summary>The p99 of every trial of this workload and engine, in the order run (one trial: empty).</summary>
    public double[] TrialP99Ms { get; init; } = [];

    /// <summary>The first attempt gave no result (the worker hung) and this is the second.</summary>
    public bool Retried { get; init; }

    public double DeliveredRatio => Demanded == 0 ? 0 : (double)Delivered / Demanded;

    /// <summary>CPU seconds per million runs delivered.</summary>
    public double CpuPerMillionRuns => Delivered == 0 ? double.NaN : CpuSeconds / Delivered * 1_000_000;

    /// <summary>CPU as a percentage of one core over the measured window.</summary>
    public double CpuPercentOfCore => WallSeconds <= 0 ? double.NaN : CpuSeconds / WallSeconds * 100;

    /// <summary>Demanded runs per second.</summary>
    public double DemandedRate => PeriodMs <= 0 ? 0 : Tasks * 1000.0 / PeriodMs;
}
