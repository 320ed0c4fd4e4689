using ActorScheduler.Dashboard;
using ActorScheduler.Host.Tasks;
using ActorScheduler.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ActorScheduler.Host.Running;

/// <summary>
/// The console host's own endpoints beside the console's API (docs/host.md, "Adding and removing tasks at run time"):
/// PUT api/tasks/NAME adds a command task from an entry with the keys of a task in the file; DELETE api/tasks/NAME
/// removes a task. They share the console's token, read-only mode and JSON errors.
/// </summary>
internal static class TaskChangeEndpoints
{
    public static void Map(RouteGroupBuilder console, PeriodicTaskClient client, string baseDirectory)
    {
        console.MapPut("/api/tasks/{name}", (HttpContext http, string name) => AddAsync(http, name, client, baseDirectory));
        console.MapDelete("/api/tasks/{name}", (HttpContext http, string name) => RemoveAsync(http, name, client));
    }

    private static async Task<IResult> AddAsync(HttpContext http, string name, PeriodicTaskClient client, string baseDirectory)
    {
        var text = await BodyAsync(http).ConfigureAwait(false);
        ActorScheduler.Tasks.PeriodicTaskDefinition definition;
        try
        {
            definition = RunTimeCommands.Read(name, text, baseDirectory);
        }
        catch (PeriodicTaskConfigurationException e)
        {
            throw new DashboardRequestException(StatusCodes.Status400BadRequest, e.Message);
        }

        var ct = http.RequestAborted;
        if ((await client.GetStatsAsync(ct).ConfigureAwait(false)).Tasks.Any(t => t.Task == name))
            throw new DashboardRequestException(StatusCodes.Status409Conflict, $"a task named '{name}' exists: remove it first (DELETE api/tasks/{name}).");
        try
        {
            await client.ChangeAsync(new ChangeTasks(new AddTask(definition)), ct).ConfigureAwait(false);
        }
        catch (PeriodicTaskDefinitionException e)
        {
            throw new DashboardRequestException(StatusCodes.Status400BadRequest, e.Message);
        }

        return Results.Json(await client.GetTaskAsync(name, ct).ConfigureAwait(false), DashboardApi.Json, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> RemoveAsync(HttpContext http, string name, PeriodicTaskClient client)
    {
        var changed = await client.RemoveAsync(name, http.RequestAborted).ConfigureAwait(false);
        return Results.Json(new { removed = changed.Removed }, DashboardApi.Json);
    }

    private static async Task<string> BodyAsync(HttpContext http)
    {
        if (http.Request.ContentLength > RunTimeCommands.MaxEntryLength)
            throw new DashboardRequestException(StatusCodes.Status413PayloadTooLarge, $"the entry is longer than {RunTimeCommands.MaxEntryLength} bytes.");
        using var reader = new StreamReader(http.Request.Body);
        var buffer = new char[RunTimeCommands.MaxEntryLength + 1];
        var read = await reader.ReadBlockAsync(buffer, http.RequestAborted).ConfigureAwait(false);
        if (read > RunTimeCommands.MaxEntryLength)
            throw new DashboardRequestException(StatusCodes.Status413PayloadTooLarge, $"the entry is longer than {RunTimeCommands.MaxEntryLength} characters.");
        if (read == 0)
            throw new DashboardRequestException(StatusCodes.Status400BadRequest,
                "the body is the task's entry, as in the file: { command = \"...\", spacing = 1h } (HOCON or JSON).");
        return new string(buffer, 0, read);
    }
}
