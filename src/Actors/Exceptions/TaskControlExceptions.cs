namespace ActorScheduler;

/// <summary>A control request named a task the set does not have; the message suggests the closest name.</summary>
public sealed class PeriodicTaskNotFoundException(string setName, string taskName, string message) : KeyNotFoundException(message)
{
    public string SetName { get; } = setName;

    public string TaskName { get; } = taskName;
}

/// <summary>
/// The task set did not answer within the client's timeout: it has not started yet (an Akka.Hosting set before the
/// host started, a cluster singleton before the node is Up) or it is gone.
/// </summary>
public sealed class TaskSetNotReadyException(string message, Exception? inner = null) : TimeoutException(message, inner);

/// <summary>The task set refused a request it cannot carry out in its state (stopping, stopped, halted by raise-on-error).</summary>
public sealed class TaskSetUnavailableException(string message) : InvalidOperationException(message);
