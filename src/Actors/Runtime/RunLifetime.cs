namespace ActorScheduler.Runtime;

internal static class RunLifetime
{
    /// <summary>True when a run cannot outlive this process (bodies run in it die with it); a host sets it false when the processes its runs start can.</summary>
    public static bool EndsWithProcess { get; set; } = true;
}
