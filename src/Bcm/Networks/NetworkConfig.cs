using System.Text.Json.Serialization;

namespace Bcm.Networks;

/// <summary>Configuration of a network F_θ. The <see cref="Kind"/> selects the implementation.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(UNetConfig), "adm-unet")]
public abstract record NetworkConfig
{
    [JsonIgnore] public abstract string Kind { get; }
}
