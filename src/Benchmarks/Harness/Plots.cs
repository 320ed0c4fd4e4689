using ActorScheduler.Benchmarks.Engines;
using ScottPlot;

namespace ActorScheduler.Benchmarks.Harness;

/// <summary>The PNG plots of docs/benchmarks.md (ScottPlot).</summary>
public static class Plots
{
    private static readonly Color[] Palette =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#d62728"), Color.FromHex("#2ca02c"), Color.FromHex("#9467bd"), Color.FromHex("#ff7f0e"),
    ];

    public static void Write(string directory, Plan plan, IReadOnlyList<WorkerResult> results, IReadOnlyList<WorkerResult> sweep)
    {
        foreach (var w in plan.Workloads.Where(w => w.Mode == "run"))
            Lateness(Path.Combine(directory, $"lateness-{w.Name}.png"), w, results.Where(r => r.Label == w.Name).ToList());
        Delivered(Path.Combine(directory, "delivered.png"), plan, results);
        Sweep(Path.Combine(directory, "sweep.png"), sweep);
    }

    /// <summary>Lateness against percentile, one line per engine; both axes logarithmic (x as 1/(1-p)).</summary>
    private static void Lateness(string path, Workload w, IReadOnlyList<WorkerResult> results)
    {
        var plot = new Plot();
        var percentiles = WorkerResult.PlotPercentiles;
        foreach (var r in results.Where(r => r.Error is null && r.PercentileValuesMs.Length == percentiles.Length))
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (var i = 0; i < percentiles.Length; i++)
            {
                if (percentiles[i] >= 100)
                    continue;
                xs.Add(Math.Log10(1 / (1 - percentiles[i] / 100)));
                ys.Add(Math.Log10(Math.Max(0.01, r.PercentileValuesMs[i])));
            }

            var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray(), ColorOf(r.Engine));
            line.LineWidth = 2;
            line.MarkerSize = 5;
            line.LegendText = EngineNames.Display(r.Engine);
        }

        double[] ticks = [0, 50, 90, 99, 99.9, 99.99];
        plot.Axes.Bottom.SetTicks(ticks.Select(p => Math.Log10(1 / (1 - p / 100))).ToArray(), ticks.Select(p => p + "%").ToArray());
        double[] ms = [0.01, 0.1, 1, 10, 100, 1000, 10000];
        plot.Axes.Left.SetTicks(ms.Select(Math.Log10).ToArray(), ms.Select(v => v >= 1 ? v.ToString("0") : v.ToString("0.##")).ToArray());
        plot.Axes.SetLimitsY(-2.1, 4.2);
        plot.Title($"{w.Name}: {w.Description}: lateness by percentile");
        plot.XLabel("percentile");
        plot.YLabel("lateness (ms, log scale)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 900, 520);
    }

    /// <summary>Runs delivered over runs demanded, per workload and engine.</summary>
    private static void Delivered(string path, Plan plan, IReadOnlyList<WorkerResult> results)
    {
        var plot = new Plot();
        var workloads = plan.Workloads.Where(w => w.Mode == "run").ToList();
        var engines = EngineNames.All;
        const double width = 0.16;
        for (var e = 0; e < engines.Count; e++)
        {
            var bars = new List<Bar>();
            for (var w = 0; w < workloads.Count; w++)
            {
                var r = results.FirstOrDefault(x => x.Label == workloads[w].Name && x.Engine == engines[e]);
                if (r is null || r.Error is not null)
                    continue;
                bars.Add(new Bar
                {
                    Position = w + (e - (engines.Count - 1) / 2.0) * width,
                    Value = r.DeliveredRatio * 100,
                    Size = width * 0.9,
                    FillColor = ColorOf(engines[e]),
                });
            }

            var plotted = plot.Add.Bars(bars);
            plotted.LegendText = EngineNames.Display(engines[e]);
            plotted.Color = ColorOf(engines[e]);
        }

        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, workloads.Count).Select(i => (double)i).ToArray(), workloads.Select(w => $"{w.Name}\n{w.Description}").ToArray());
        plot.Axes.SetLimitsY(0, 105);
        plot.Title("Runs delivered / runs demanded");
        plot.YLabel("% of demanded runs delivered");
        plot.ShowLegend(Alignment.LowerLeft);
        plot.SavePng(path, 1000, 520);
    }

    /// <summary>The sweep: delivered runs per second against demanded runs per second (log-log), sustained steps marked.</summary>
    private static void Sweep(string path, IReadOnlyList<WorkerResult> sweep)
    {
        var plot = new Plot();
        foreach (var group in sweep.Where(r => r.Error is null).GroupBy(r => r.Engine))
        {
            var xs = group.Select(r => Math.Log10(r.DemandedRate)).ToArray();
            var ys = group.Select(r => Math.Log10(Math.Max(1, r.DemandedRate * r.DeliveredRatio))).ToArray();
            var line = plot.Add.ScatterLine(xs, ys, ColorOf(group.Key));
            line.LineWidth = 2;
            line.MarkerSize = 8;
            line.LegendText = EngineNames.Display(group.Key) + " (delivered)";
            var sustained = group.Where(Orchestrator.Sustains).ToList();
            if (sustained.Count > 0)
            {
                var marks = plot.Add.ScatterPoints(
                    sustained.Select(r => Math.Log10(r.DemandedRate)).ToArray(),
                    sustained.Select(r => Math.Log10(Math.Max(1, r.DemandedRate * r.DeliveredRatio))).ToArray(),
                    ColorOf(group.Key));
                marks.MarkerShape = MarkerShape.OpenCircle;
                marks.MarkerSize = 16;
                marks.LegendText = EngineNames.Display(group.Key) + " sustained (>= 99.9%, p99 < 20 ms)";
            }
        }

        double[] rates = [100, 1_000, 10_000, 100_000, 1_000_000];
        var labels = rates.Select(v => v.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        plot.Axes.Bottom.SetTicks(rates.Select(Math.Log10).ToArray(), labels);
        plot.Axes.Left.SetTicks(rates.Select(Math.Log10).ToArray(), labels);
        plot.Title("Sweep: tasks every 100 ms, more each step");
        plot.XLabel("runs demanded per second (log)");
        plot.YLabel("runs delivered per second (log)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 900, 520);
    }

    private static Color ColorOf(string engine)
    {
        var i = EngineNames.All.ToList().IndexOf(engine);
        return Palette[Math.Max(0, i) % Palette.Length];
    }
}
