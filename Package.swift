// swift-tools-version:6.1
// SER: speech emotion recognition (STA-CNN) in Swift. GPL-3.0-or-later.
//
// The targets follow the chain of the paper; each imports only targets listed before it, so data
// flows one way:
//   SERCore -> SERAudio, SERFeatures -> SEREncoder      audio -> model input (ClipFeaturizer)
//   SERCore -> SERNetwork -> SERModel                     the STA-CNN (its FeatureConfig from SERFeatures)
//   SERCorpora, SERReports -> SERExperiments              datasets, reports; training and evaluation
//   SERRecognizer -> SERBundledModels                     file -> emotion; the models of models/
//   SERRecognizer -> SERService -> CLI                    HTTP on Hummingbird 2; `ser`
//
// Trait `Service` (on by default): the HTTP service and `ser serve`, on Hummingbird 2. A package that
// depends on SER with `traits: []` gets the library without the HTTP packages: SwiftPM then neither
// clones nor builds Hummingbird, SwiftNIO or swift-log.
//
// Products: `SpeechEmotion` (the library, no HTTP dependencies), `SpeechEmotionService` (the HTTP
// service on Hummingbird 2), `SpeechEmotionExperiments` (training and evaluation) and `ser`.
import PackageDescription

let package = Package(
    name: "SER",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ser", targets: ["CLI"]),
        .library(name: "SpeechEmotion", targets: ["SpeechEmotion"]),
        .library(name: "SpeechEmotionService", targets: ["SERService"]),
        .library(name: "SpeechEmotionExperiments", targets: ["SERCorpora", "SERReports", "SERExperiments"]),
    ],
    traits: [
        .trait(name: "Service", description: "The HTTP service (SERService, `ser serve`) on Hummingbird 2."),
        .default(enabledTraits: ["Service"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // The HTTP service (`ser serve`) only.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Hummingbird's own dependencies, named for the service's connection guard (NIO channel
        // handlers) and its shutdown deadline (service lifecycle); no new packages.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Native libraries from Debian, found through pkg-config.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSndFile", path: "Sources/CSndFile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        // Native FLAC decoding on the hot path (libsndfile reads FLAC through the same library).
        .systemLibrary(name: "CFLAC", path: "Sources/CFLAC", pkgConfig: "flac",
                       providers: [.apt(["libflac-dev"])]),
        .systemLibrary(name: "CSoxr", path: "Sources/CSoxr", pkgConfig: "soxr",
                       providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW", pkgConfig: "fftw3f",
                       providers: [.apt(["libfftw3-dev"])]),

        // cpuid and OpenBLAS's run-time kernel switch (BLASKernel in Core).
        .target(name: "CCPU", path: "Sources/CCPU"),

        // The chain.
        .target(name: "SERCore", dependencies: ["COpenBLAS", "CCPU"], path: "Sources/Core"),
        .target(name: "SERAudio", dependencies: ["SERCore", "CSndFile", "CFLAC", "CSoxr"], path: "Sources/Audio"),
        .target(name: "SERFeatures", dependencies: ["SERCore", "CFFTW"], path: "Sources/Features",
                // The STFT uses FFTW's double-precision library too (libfftw3, same Debian package).
                linkerSettings: [.linkedLibrary("fftw3")]),
        // Whisper's encoder (inference only) over the log-mel front end; CTranslate2/safetensors weights.
        .target(name: "SEREncoder", dependencies: ["SERCore", "SERAudio", "SERFeatures"], path: "Sources/Encoder"),
        .target(name: "SERNetwork", dependencies: ["SERCore"], path: "Sources/Network"),
        .target(name: "SERModel", dependencies: ["SERCore", "SERFeatures", "SERNetwork"], path: "Sources/Model"),
        .target(name: "SERCorpora", dependencies: ["SERCore", "SERAudio"], path: "Sources/Corpora"),
        // Evaluation metrics, Markdown/JSON reports and SVG plots.
        .target(name: "SERExperiments",
                dependencies: ["SERCore", "SERAudio", "SERFeatures", "SEREncoder", "SERNetwork", "SERModel", "SERCorpora", "SERReports"],
                path: "Sources/Experiments"),
        .target(name: "SERReports", dependencies: ["SERCore"], path: "Sources/Reports"),
        // The library entry point: file/samples/bytes -> emotion prediction or timeline.
        .target(name: "SERRecognizer", dependencies: ["SERCore", "SERAudio", "SERFeatures", "SEREncoder", "SERModel"], path: "Sources/Recognizer"),
        // The bundled models of models/ as resources, found by name from any package that depends on SER.
        .target(name: "SERBundledModels", dependencies: ["SERRecognizer"], path: "models",
                exclude: ["README.md"],
                resources: [.copy("default.safetensors"), .copy("handmade.safetensors"), .copy("session.safetensors")]),
        // `import SpeechEmotion`: re-exports the library's modules.
        .target(name: "SpeechEmotion",
                dependencies: ["SERCore", "SERAudio", "SERFeatures", "SEREncoder", "SERModel", "SERRecognizer", "SERBundledModels"],
                path: "Sources/SpeechEmotion"),
        // The HTTP service on Hummingbird 2.
        .target(name: "SERService",
                dependencies: [
                    "SERCore", "SERRecognizer", "SERAudio",
                    .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Service"])),
                    .product(name: "HummingbirdCore", package: "hummingbird", condition: .when(traits: ["Service"])),
                    .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Service"])),
                    .product(name: "NIOHTTP1", package: "swift-nio", condition: .when(traits: ["Service"])),
                    .product(name: "NIOHTTPTypes", package: "swift-nio-extras", condition: .when(traits: ["Service"])),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle", condition: .when(traits: ["Service"])),
                    .product(name: "UnixSignals", package: "swift-service-lifecycle", condition: .when(traits: ["Service"])),
                    .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Service"])),
                ],
                path: "Sources/Service"),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "SERCore", "SERAudio", "SERFeatures", "SEREncoder", "SERModel", "SERCorpora", "SERReports",
                "SERExperiments", "SERRecognizer", "SERBundledModels", "SERService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Service"])),
            ],
            path: "Sources/CLI"),
        // Writes the Swift side of the PyTorch parity check and times the model (benchmarks/model).
        .executableTarget(name: "ModelParityTool", dependencies: ["SERCore", "SERFeatures", "SERNetwork", "SERModel"],
                          path: "Sources/ModelParityTool"),
        // Writes the Swift side of the Whisper encoder parity check and times it (benchmarks/encoder).
        .executableTarget(name: "EncoderParityTool", dependencies: ["SERCore", "SERFeatures", "SEREncoder"],
                          path: "Sources/EncoderParityTool"),
        // Compares the direct WAV/FLAC decoders with libsndfile on audio files (benchmarks/decode).
        .executableTarget(name: "DecodeCheck", dependencies: ["SERCore", "SERAudio"], path: "Sources/DecodeCheck"),

        // Tests. `SERTestSupport` finds ../shared (skipping cleanly without it) and the fixtures.
        .target(name: "SERTestSupport", path: "Tests/Support"),
        .testTarget(name: "CoreTests", dependencies: ["SERCore", "SERTestSupport"], path: "Tests/CoreTests"),
        .testTarget(name: "CorporaTests", dependencies: ["SERCorpora", "SERCore", "SERTestSupport"],
                    path: "Tests/CorporaTests"),
        .testTarget(name: "ReportsTests", dependencies: ["SERReports", "SERCore", "SERTestSupport"],
                    path: "Tests/ReportsTests"),
        .testTarget(name: "AudioTests", dependencies: ["SERAudio", "SERCore", "SERTestSupport"], path: "Tests/AudioTests"),
        .testTarget(name: "FeaturesTests", dependencies: ["SERFeatures", "SERCore", "SERTestSupport"],
                    path: "Tests/FeaturesTests"),
        .testTarget(name: "ExperimentsTests", dependencies: ["SERExperiments", "SERRecognizer", "SERAudio", "SERCore", "SERCorpora", "SERFeatures", "SERModel", "SERTestSupport"],
                    path: "Tests/ExperimentsTests"),
        .testTarget(name: "ModelTests", dependencies: ["SERCore", "SERFeatures", "SERNetwork", "SERModel", "SERTestSupport"], path: "Tests/ModelTests"),
        .testTarget(name: "RecognizerTests", dependencies: ["SERRecognizer", "SERBundledModels", "SERAudio", "SERCore", "SEREncoder", "SERFeatures", "SERModel", "SERTestSupport"],
                    path: "Tests/RecognizerTests"),
        .testTarget(name: "ServiceTests",
                    dependencies: ["SERService", "SERRecognizer", "SERAudio", "SERModel", "SERFeatures", "SERTestSupport",
                                   .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Service"])),
                                   .product(name: "Logging", package: "swift-log", condition: .when(traits: ["Service"]))],
                    path: "Tests/ServiceTests"),
        .testTarget(name: "EncoderTests", dependencies: ["SEREncoder", "SERFeatures", "SERAudio", "SERCore", "SERTestSupport"],
                    path: "Tests/EncoderTests"),
        .testTarget(name: "NetworkTests", dependencies: ["SERCore", "SERNetwork", "SERTestSupport"], path: "Tests/NetworkTests"),
    ]
)
