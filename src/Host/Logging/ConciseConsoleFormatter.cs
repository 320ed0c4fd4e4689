using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ActorScheduler.Host.Logging;

/// <summary>
/// One line per log entry: "HH:mm:ss.fff LEVEL message". Akka's log events (routed through Akka.Hosting's
/// LoggerFactory logger) are reduced to their message. Exceptions add their stack trace only at debug level: a failing
/// task's message is already in the line.
/// </summary>
internal sealed partial class ConciseConsoleFormatter : ConsoleFormatter
{
    public const string FormatterName = "actor-scheduler";

    private readonly bool _stackTraces;

    public ConciseConsoleFormatter(IOptionsMonitor<ConciseFormatterOptions> options)
        : base(FormatterName) =>
        _stackTraces = options.CurrentValue.StackTraces;

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = MessageOf(logEntry);
        if (message is null && logEntry.Exception is null)
            return;
        // Akka.Hosting stops the ActorSystem with the "CLR exit" reason and logs a made-up exit code 0; the host's own
        // exit code (0, 1 or 2) is what counts, so this line would only mislead.
        if (logEntry.LogLevel == LogLevel.Information && message is not null && IsAkka(logEntry.Category)
            && message.StartsWith("CoordinatedShutdown invoked due to", StringComparison.Ordinal))
            return;
        textWriter.Write(DateTime.Now.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture));
        textWriter.Write(' ');
        textWriter.Write(Level(logEntry.LogLevel));
        textWriter.Write(' ');
        textWriter.Write(message);
        if (logEntry.Exception is { } error && _stackTraces && !IsAkka(logEntry.Category))
        {
            textWriter.WriteLine();
            textWriter.Write(error.ToString());
        }

        textWriter.WriteLine();
    }

    private string? MessageOf<TState>(in LogEntry<TState> entry)
    {
        var text = entry.Formatter?.Invoke(entry.State, entry.Exception);
        if (text is null || !IsAkka(entry.Category))
            return text;
        // Akka's own text: "[LEVEL][date][Thread n][path] message", then "Cause: exception" lines when there is one.
        text = AkkaHeader().Replace(text, "", 1);
        if (!_stackTraces)
        {
            var cause = text.IndexOf("\nCause: ", StringComparison.Ordinal);
            if (cause >= 0)
                text = text[..cause].TrimEnd('\r');
        }

        return text;
    }

    /// <summary>Akka.Hosting logs every Akka event under category Akka.Actor.ActorSystem.</summary>
    private static bool IsAkka(string category) => category.StartsWith("Akka", StringComparison.Ordinal);

    [GeneratedRegex(@"^\[[A-Z]+\]\[[^\]]*\]\[Thread \d+\]\[[^\]]*\] ")]
    private static partial Regex AkkaHeader();

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "TRACE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO ",
        LogLevel.Warning => "WARN ",
        LogLevel.Error => "ERROR",
        LogLevel.Critical => "FATAL",
        _ => "     ",
    };
}

internal sealed class ConciseFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>Print exceptions' stack traces (at debug level).</summary>
    public bool StackTraces { get; set; }
}
