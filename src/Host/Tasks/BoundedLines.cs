using System.Text;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// Reads a command's output stream to its end with bounded memory: lines longer than <see cref="MaxLineLength"/> are
/// cut, only the last <c>keep</c> lines are kept, and each line is handed to a callback (debug logging) as it comes.
/// A chatty command therefore costs a fixed amount of memory, however much it writes.
/// </summary>
internal sealed class BoundedLines
{
    public const int MaxLineLength = 1000;

    private readonly int _keep;
    private readonly Queue<string> _last;
    private readonly Action<string>? _onLine;
    private readonly StringBuilder _line = new();
    private bool _lineCut;

    public BoundedLines(int keep, Action<string>? onLine)
    {
        _keep = keep;
        _last = new Queue<string>(Math.Max(0, keep));
        _onLine = onLine;
    }

    /// <summary>How many lines were read in all.</summary>
    public long LineCount { get; private set; }

    /// <summary>The last lines read (at most <c>keep</c>), oldest first.</summary>
    public IReadOnlyList<string> Last
    {
        get
        {
            lock (_last)
                return _last.ToList();
        }
    }

    /// <summary>Reads <paramref name="reader"/> until it ends.</summary>
    public async Task PumpAsync(TextReader reader)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var c = buffer[i];
                if (c == '\n')
                {
                    EndLine();
                    continue;
                }

                if (c == '\r')
                    continue;
                if (_line.Length < MaxLineLength)
                    _line.Append(c);
                else
                    _lineCut = true;
            }
        }

        if (_line.Length > 0 || _lineCut)
            EndLine();
    }

    private void EndLine()
    {
        var text = _lineCut ? _line + " [...]" : _line.ToString();
        _line.Clear();
        _lineCut = false;
        LineCount++;
        _onLine?.Invoke(text);
        if (_keep <= 0)
            return;
        lock (_last)
        {
            if (_last.Count == _keep)
                _last.Dequeue();
            _last.Enqueue(text);
        }
    }
}
