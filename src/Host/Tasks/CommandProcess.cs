using System.ComponentModel;
using System.Diagnostics;
using System.IO.Pipes;
using Microsoft.Win32.SafeHandles;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// A command's process while it runs: started by <see cref="PosixSpawn"/> (leading its own process group, reaped by
/// <see cref="ChildReaper"/>), or, where that is not available, by <see cref="Process.Start()"/>.
/// </summary>
internal sealed class CommandProcess : IDisposable
{
    private readonly Process? _process;
    private readonly Task<int> _exited;

    private CommandProcess(int id, StreamReader stdout, StreamReader stderr, Task<int> exited, Process? process)
    {
        Id = id;
        StandardOutput = stdout;
        StandardError = stderr;
        _exited = exited;
        _process = process;
    }

    public int Id { get; }

    public StreamReader StandardOutput { get; }

    public StreamReader StandardError { get; }

    /// <summary>True when it leads its own process group (and <see cref="KillTree"/> kills the group).</summary>
    public bool LeadsGroup => _process is null;

    public bool HasExited => _exited.IsCompleted;

    /// <summary>0-255, 128+N after signal N, or <see cref="ChildReaper.UnknownExit"/>; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _exited.Result;

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _exited.WaitAsync(cancellationToken);

    /// <summary>Started by <see cref="PosixSpawn"/>: its output pipes, and the reaper's wait for its end.</summary>
    public static CommandProcess FromSpawn(PosixSpawn.Started started)
    {
        Task<int> exited;
        try
        {
            exited = ChildReaper.Watch(started.Pid);
        }
        catch (Win32Exception)
        {
            _ = LibC.kill(-started.Pid, LibC.SigKill); // it could not be waited for: it does not run unwatched
            exited = Task.FromResult(128 + LibC.SigKill);
        }

        return new CommandProcess(started.Pid, Reader(started.Stdout), Reader(started.Stderr), exited, null);
    }

    /// <summary>Started by <see cref="Process.Start()"/> with its standard streams redirected: its input is closed at once.</summary>
    public static CommandProcess FromProcess(Process process)
    {
        process.StandardInput.Close();
        var exited = process.WaitForExitAsync().ContinueWith(_ => process.ExitCode, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new CommandProcess(process.Id, process.StandardOutput, process.StandardError, exited, process);
    }

    /// <summary>Kills its process group when it leads one (at once), then its process tree (descendants that left the group).</summary>
    public void KillTree()
    {
        if (HasExited)
            return;
        if (LeadsGroup)
            _ = LibC.kill(-Id, LibC.SigKill);
        try
        {
            using var byId = _process is null ? Process.GetProcessById(Id) : null; // its tree, from /proc
            (_process ?? byId!).Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception or NotSupportedException or ArgumentException)
        {
            // It exited meanwhile.
        }
    }

    public void Dispose()
    {
        StandardOutput.Dispose();
        StandardError.Dispose();
        _process?.Dispose();
    }

    private static StreamReader Reader(int fd) =>
        new(new AnonymousPipeClientStream(PipeDirection.In, new SafePipeHandle(fd, ownsHandle: true)));
}
