using ActorScheduler.Testing.Support;
using PublicApiGenerator;
using Xunit;

namespace ActorScheduler.Tests.PublicApi;

/// <summary>Compares an assembly's public API (PublicApiGenerator) with its approved text in the repository.</summary>
public static class ApprovedApi
{
    public static void Check(System.Reflection.Assembly assembly, string approvedPath)
    {
        var api = assembly.GeneratePublicApi(new ApiGeneratorOptions { ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute", "System.Runtime.CompilerServices.InternalsVisibleToAttribute"] })
            .ReplaceLineEndings("\n");
        var approvedFile = Path.Combine(Repository.Root, approvedPath);
        var approved = File.Exists(approvedFile) ? File.ReadAllText(approvedFile).ReplaceLineEndings("\n") : "";
        var received = Path.ChangeExtension(approvedFile, null).Replace(".approved", "") + ".received.txt";
        if (api == approved)
        {
            File.Delete(received);
            return;
        }

        File.WriteAllText(received, api);
        Assert.Fail($"The public API of {assembly.GetName().Name} changed. Review {received} and, if the change is meant, copy it over {approvedFile}.");
    }
}
