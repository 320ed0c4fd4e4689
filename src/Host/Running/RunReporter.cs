using ActorScheduler.Messages;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Running;

/// <summary>
/// Subscribes to every <see cref="PeriodicTaskEvent"/> on the EventStream: writes each as a JSON line (when --events
/// was given) and logs one concise line per run outcome. Overrun warnings and nova's "Error during ..." lines come
/// from the library itself.
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
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(PeriodicTaskEvent));

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _events?.Flush();
    }

    private void OnEvent(PeriodicTaskEvent e)
    {
        _events?.Write(e);
        switch (e)
        {
            case PeriodicTaskStarted:
                _log.LogDebug("{Task} tick {Tick}: started", e.Task, e.Tick);
                break;
            case PeriodicTaskSucceeded s:
                _log.LogInformation("{Task} tick {Tick}: succeeded in {Duration}", e.Task, e.Tick, SummaryTable.Ms(s.Duration));
                break;
            case PeriodicTaskFailed f:
                _log.LogInformation("{Task} tick {Tick}: failed after {Duration}: {Error}", e.Task, e.Tick, SummaryTable.Ms(f.Duration),
                    EventWriter.ErrorText(f.Error));
                break;
            case PeriodicTaskTimedOut t:
                _log.LogWarning("{Task} tick {Tick}: timed out after {Timeout} (cancelled)", e.Task, e.Tick, Durations.Format(t.Timeout));
                break;
            case PeriodicTaskMissed m:
                _log.LogWarning("{Task} tick {Tick}: {Count} due times missed while it could not run (coalesced into this run)",
                    e.Task, e.Tick, m.Count);
                break;
        }

        _onEvent?.Invoke(e);
    }

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
