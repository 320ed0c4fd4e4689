using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Messages;

namespace ActorScheduler.Host.Running;

/// <summary>
/// Writes events as JSON Lines: one object per line with the fields event, task, tick, time
/// (ISO-8601 UTC with milliseconds), durationMs and error where they apply. Not thread-safe: one writer per stream,
/// used from one actor (run) or one loop (simulate).
/// </summary>
public sealed class EventWriter : IDisposable
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly bool _flushEachLine;
    private readonly Utf8JsonWriter _json;
    private readonly byte[] _timeBuffer = new byte[32];

    private EventWriter(Stream stream, bool ownsStream, bool flushEachLine)
    {
        _stream = new BufferedStream(stream, 1 << 16);
        _ownsStream = ownsStream;
        _flushEachLine = flushEachLine;
        _json = new Utf8JsonWriter(_stream, Options);
    }

    /// <summary>The destination's name as given: a path, or "-" for standard output.</summary>
    public string Destination { get; private init; } = "";

    /// <summary>Opens <paramref name="path"/> ("-" is standard output). The file is created or truncated.</summary>
    /// <param name="flushEachLine">Flush after every line (live runs, so a reader sees each event as it happens).</param>
    /// <exception cref="HostConfigurationException">the file cannot be created.</exception>
    public static EventWriter Open(string path, bool flushEachLine)
    {
        if (path == "-")
            return new EventWriter(Console.OpenStandardOutput(), ownsStream: false, flushEachLine) { Destination = path };
        if (string.IsNullOrWhiteSpace(path))
            throw new HostConfigurationException("--events: the file name is empty (use - for standard output).");
        try
        {
            var full = Path.GetFullPath(path);
            var stream = new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.Read);
            return new EventWriter(stream, ownsStream: true, flushEachLine) { Destination = path };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new HostConfigurationException($"--events: cannot create \"{path}\": {ConfigLoader.OneLine(e.Message)}");
        }
    }

    /// <summary>Writes one event of a live run.</summary>
    public void Write(PeriodicTaskEvent e)
    {
        switch (e)
        {
            case PeriodicTaskStarted s:
                Write(e.EventName, e.Task, e.Tick, s.StartedAt, null, null);
                break;
            case PeriodicTaskSucceeded s:
                Write(e.EventName, e.Task, e.Tick, s.StartedAt + s.Duration, s.Duration, null);
                break;
            case PeriodicTaskFailed f:
                Write(e.EventName, e.Task, e.Tick, f.StartedAt + f.Duration, f.Duration, ErrorText(f.Error));
                break;
            case PeriodicTaskTimedOut t:
                Write(e.EventName, e.Task, e.Tick, t.StartedAt + t.Duration, t.Duration, t.Error);
                break;
            default:
                Write(e.EventName, e.Task, e.Tick, e.ScheduledAt, null, null);
                break;
        }
    }

    /// <summary>Writes one line: the fields that apply, in the contract's order.</summary>
    public void Write(string eventName, string task, long tick, DateTimeOffset time, TimeSpan? duration, string? error)
    {
        _json.Reset();
        _json.WriteStartObject();
        _json.WriteString("event"u8, eventName);
        _json.WriteString("task"u8, task);
        _json.WriteNumber("tick"u8, tick);
        _json.WriteString("time"u8, FormatTime(time));
        if (duration is { } d)
            _json.WriteNumber("durationMs"u8, (long)Math.Round(d.TotalMilliseconds, MidpointRounding.AwayFromZero));
        if (error is not null)
            _json.WriteString("error"u8, error);
        _json.WriteEndObject();
        _json.Flush();
        _stream.WriteByte((byte)'\n');
        if (_flushEachLine)
            _stream.Flush();
    }

    /// <summary>A run's error as one line: the exception's message (its type when it has none).</summary>
    public static string ErrorText(Exception error)
    {
        var message = string.IsNullOrWhiteSpace(error.Message) ? error.GetType().Name : error.Message;
        return ConfigLoader.OneLine(message);
    }

    private ReadOnlySpan<byte> FormatTime(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        utc.TryFormat(_timeBuffer, out var written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return _timeBuffer.AsSpan(0, written);
    }

    public void Flush()
    {
        _json.Flush();
        _stream.Flush();
    }

    public void Dispose()
    {
        Flush();
        _json.Dispose();
        if (_ownsStream)
            _stream.Dispose();
        else
            _stream.Flush();
    }

    /// <summary>Formats a time as the events do (ISO-8601 UTC with milliseconds).</summary>
    public static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
