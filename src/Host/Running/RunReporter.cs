using ActorScheduler.Dashboard;
using ActorScheduler.Messages;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Running;

/// <summary>
/// Subscribes to every <see cref="PeriodicTaskEvent"/> and <see cref="PeriodicTaskControlEvent"/> on the EventStream:
/// writes each as a JSON line (when --events was given) and logs one concise line per run outcome and per control
/// event; also writes the outcome of each configuration reload. Overrun warnings and nova's "Error during ..." lines
/// come from the library itself. Being the only writer, it keeps the events file's lines whole and in order.
/// </summary>
internal sealed class RunReporter : ReceiveActor
{
    private readonly EventWriter? _events;
    private readonly ILogger _log;
    private readonly Action<PeriodicTaskEvent>? _onEvent;

    public RunReporter(EventWriter? events, ILogger log, Action<PeriodicTaskEvent>? onEvent = null)
    {
        _events = events;
        _log = log;
        _onEvent = onEvent;
        Receive<PeriodicTaskEvent>(OnEvent);
        Receive<PeriodicTaskControlEvent>(OnControl);
        Receive<Reloaded>(r => _events?.WriteReloaded(r.Time, r.Added, r.Updated, r.Removed));
        Receive<ReloadFailed>(r => _events?.WriteReloadFailed(r.Time, r.Error));
        Receive<Listening>(l => _events?.WriteListening(l.Time, l.Url));
        Receive<Flush>(_ =>
        {
            _events?.Flush();
            Sender.Tell(Flushed.Instance);
        });
    }

    /// <param name="onEvent">Called for each event after it is written and logged (run-once waits for its outcome).</param>
    public static Props Props(EventWriter? events, ILogger log, Action<PeriodicTaskEvent>? onEvent = null) =>
        Akka.Actor.Props.Create(() => new RunReporter(events, log, onEvent));

    /// <summary>Subscribes here too, in case the reporter was created without the caller subscribing it (idempotent).</summary>
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(PeriodicTaskEvent));
        Context.System.EventStream.Subscribe(Self, typeof(PeriodicTaskControlEvent));
    }

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _events?.Flush();
    }

    private void OnEvent(PeriodicTaskEvent e)
    {
        _events?.Write(e);
        var tick = e.Attempt > 1 ? $"{e.Tick} (retry {e.Attempt - 1})" : e.Tick.ToString(System.Globalization.CultureInfo.InvariantCulture);
        switch (e)
        {
            case PeriodicTaskStarted:
                _log.LogDebug("{Task} tick {Tick}: started", e.Task, tick);
                break;
            case PeriodicTaskSucceeded s:
                _log.LogInformation("{Task} tick {Tick}: succeeded in {Duration}", e.Task, tick, SummaryTable.Ms(s.Duration));
                break;
            case PeriodicTaskFailed f:
                _log.LogInformation("{Task} tick {Tick}: failed after {Duration}: {Error}", e.Task, tick, SummaryTable.Ms(f.Duration),
                    EventJson.ErrorText(f.Error));
                break;
            case PeriodicTaskTimedOut t:
                _log.LogWarning("{Task} tick {Tick}: timed out after {Timeout} (cancelled)", e.Task, tick, Durations.Format(t.Timeout));
                break;
            case PeriodicTaskMissed m:
                _log.LogWarning("{Task} tick {Tick}: {Count} due times missed while it could not run (coalesced into this run)",
                    e.Task, tick, m.Count);
                break;
        }

        _onEvent?.Invoke(e);
    }

    private void OnControl(PeriodicTaskControlEvent e)
    {
        _events?.Write(e);
        var detail = e switch
        {
            PeriodicTaskPaused p => string.Join(", ", new[] { p.Note, p.Until is { } until ? $"until {EventWriter.Iso(until)}" : null }.OfType<string>()),
            PeriodicTaskResumed { Note: { } note } => note,
            PeriodicTaskTriggered t => t.Started ? $"tick {t.Tick}" : $"tick {t.Tick}, not started: its last run is still in flight",
            PeriodicTaskAdded a => a.Schedule,
            PeriodicTaskUpdated u => u.Schedule,
            _ => "",
        };
        _log.LogInformation("{Task}: {Event}{Detail}", e.Task, e.EventName, detail.Length == 0 ? "" : $" ({detail})");
    }

    /// <summary>A configuration reload applied: the names it added, updated and removed (the reloaded event).</summary>
    public sealed record Reloaded(DateTimeOffset Time, IReadOnlyList<string> Added, IReadOnlyList<string> Updated, IReadOnlyList<string> Removed);

    /// <summary>A configuration reload refused whole (the reload-failed event).</summary>
    public sealed record ReloadFailed(DateTimeOffset Time, string Error);

    /// <summary>The HTTP console listens at <paramref name="Url"/> (the listening event).</summary>
    public sealed record Listening(DateTimeOffset Time, string Url);

    /// <summary>Asks the reporter to flush the events written so far; answered with <see cref="Flushed"/>.</summary>
    public sealed record Flush
    {
        public static readonly Flush Instance = new();
    }

    public sealed record Flushed
    {
        public static readonly Flushed Instance = new();
    }
}
