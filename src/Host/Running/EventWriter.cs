using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ActorScheduler.Dashboard;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Messages;

namespace ActorScheduler.Host.Running;

/// <summary>
/// Writes events as JSON Lines (docs/host.md, "Events"): one object per line with the fields event, task, tick, time
/// (ISO-8601 UTC with milliseconds), durationMs and error where they apply. Not thread-safe: one writer per stream,
/// used from one actor (run) or one loop (simulate).
/// </summary>
internal sealed class EventWriter : IDisposable
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

    /// <summary>Writes one event of a live run, in the console's format (the same JSON as its event stream).</summary>
    public void Write(PeriodicTaskEvent e) => WriteLine(EventJson.Of(e, node: null));

    /// <summary>Writes one control event (paused, resumed, triggered, added, updated, removed).</summary>
    public void Write(PeriodicTaskControlEvent e) => WriteLine(EventJson.Of(e));

    /// <summary>Writes <c>reloaded</c>: the task names a configuration reload added, updated and removed.</summary>
    public void WriteReloaded(DateTimeOffset time, IReadOnlyList<string> added, IReadOnlyList<string> updated, IReadOnlyList<string> removed)
    {
        Begin("reloaded");
        _json.WriteString("time"u8, FormatTime(time));
        Names("added"u8, added);
        Names("updated"u8, updated);
        Names("removed"u8, removed);
        End();
    }

    /// <summary>Writes <c>reload-failed</c>: a configuration reload refused whole, with the reason.</summary>
    public void WriteReloadFailed(DateTimeOffset time, string error)
    {
        Begin("reload-failed");
        _json.WriteString("time"u8, FormatTime(time));
        _json.WriteString("error"u8, error);
        End();
    }

    /// <summary>Writes <c>listening</c>: the address the HTTP console got (never the token).</summary>
    public void WriteListening(DateTimeOffset time, string url)
    {
        Begin("listening");
        _json.WriteString("url"u8, url);
        _json.WriteString("time"u8, FormatTime(time));
        End();
    }

    /// <summary>Writes lines formatted elsewhere (<see cref="RunLines"/>) as they are.</summary>
    public void WriteRaw(ReadOnlySpan<byte> lines) => _stream.Write(lines);

    private void WriteLine(ReadOnlySpan<byte> json)
    {
        _stream.Write(json);
        _stream.WriteByte((byte)'\n');
        if (_flushEachLine)
            _stream.Flush();
    }

    private void Begin(string eventName)
    {
        _json.Reset();
        _json.WriteStartObject();
        _json.WriteString("event"u8, eventName);
    }

    private void End()
    {
        _json.WriteEndObject();
        _json.Flush();
        _stream.WriteByte((byte)'\n');
        if (_flushEachLine)
            _stream.Flush();
    }

    private void Names(ReadOnlySpan<byte> field, IReadOnlyList<string> names)
    {
        _json.WriteStartArray(field);
        foreach (var name in names)
            _json.WriteStringValue(name);
        _json.WriteEndArray();
    }

    private ReadOnlySpan<byte> FormatTime(DateTimeOffset time) => _timeBuffer.AsSpan(0, FormatTime(time, _timeBuffer));

    /// <summary>Formats <paramref name="time"/> as yyyy-MM-ddTHH:mm:ss.fffZ (UTC) into <paramref name="to"/>: 24 bytes.</summary>
    internal static int FormatTime(DateTimeOffset time, Span<byte> to)
    {
        var utc = time.UtcDateTime;
        var (year, month, day) = utc;
        Digits(to[..4], year);
        to[4] = (byte)'-';
        Digits(to.Slice(5, 2), month);
        to[7] = (byte)'-';
        Digits(to.Slice(8, 2), day);
        to[10] = (byte)'T';
        Digits(to.Slice(11, 2), utc.Hour);
        to[13] = (byte)':';
        Digits(to.Slice(14, 2), utc.Minute);
        to[16] = (byte)':';
        Digits(to.Slice(17, 2), utc.Second);
        to[19] = (byte)'.';
        Digits(to.Slice(20, 3), utc.Millisecond);
        to[23] = (byte)'Z';
        return 24;
    }

    private static void Digits(Span<byte> to, int value)
    {
        for (var i = to.Length - 1; i >= 0; i--, value /= 10)
            to[i] = (byte)('0' + value % 10);
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

    /// <summary>
    /// The <c>run</c> lines of <c>simulate</c> for a block of ticks, formatted straight into bytes (each task's escaped
    /// name once, each tick's time once): the same text as <see cref="Write(string, string, long, DateTimeOffset, TimeSpan?, string?, int?)"/>,
    /// at the pace of millions of lines a second.
    /// </summary>
    internal sealed class RunLines
    {
        private readonly byte[][] _prefixes;
        private readonly int[] _ends;
        private readonly byte[] _time = new byte[32];
        private byte[] _buffer = new byte[1 << 16];
        private int _length;
        private int _ticks;

        /// <param name="tasks">The names, by index as <see cref="DueRun.Index"/> gives it.</param>
        /// <param name="blockTicks">The most ticks of one block.</param>
        public RunLines(IEnumerable<string> tasks, int blockTicks)
        {
            _prefixes = tasks.Select(t => "{\"event\":\"run\",\"task\":\""u8.ToArray()
                .Concat(JsonEncodedText.Encode(t, Options.Encoder).EncodedUtf8Bytes.ToArray())
                .Concat("\",\"tick\":"u8.ToArray()).ToArray()).ToArray();
            _ends = new int[blockTicks];
        }

        public void Clear()
        {
            _length = 0;
            _ticks = 0;
        }

        /// <summary>Appends one line per due run of <paramref name="tick"/>.</summary>
        public void Add(List<Scheduling.DueRun> due, long tick, DateTimeOffset time)
        {
            var timeLength = FormatTime(time, _time);
            Span<byte> tickText = stackalloc byte[20];
            tick.TryFormat(tickText, out var tickLength, default, CultureInfo.InvariantCulture);
            foreach (var run in due)
            {
                var prefix = _prefixes[run.Index];
                var need = prefix.Length + tickLength + timeLength + 14;
                if (_length + need > _buffer.Length)
                    Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + need));
                var to = _buffer.AsSpan(_length);
                prefix.CopyTo(to);
                var at = prefix.Length;
                tickText[..tickLength].CopyTo(to[at..]);
                at += tickLength;
                ",\"time\":\""u8.CopyTo(to[at..]);
                at += 9;
                _time.AsSpan(0, timeLength).CopyTo(to[at..]);
                at += timeLength;
                "\"}\n"u8.CopyTo(to[at..]);
                _length += at + 3;
            }
        }

        /// <summary>Ends the current tick (with or without lines).</summary>
        public void EndTick() => _ends[_ticks++] = _length;

        /// <summary>The lines of the block's <paramref name="i"/>-th tick.</summary>
        public ReadOnlySpan<byte> Of(int i)
        {
            var from = i == 0 ? 0 : _ends[i - 1];
            return _buffer.AsSpan(from, _ends[i] - from);
        }
    }
}
