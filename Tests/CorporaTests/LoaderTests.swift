import Foundation
import XCTest
@testable import SERCorpora

final class LoaderTests: XCTestCase {
    private func reasons(_ c: Corpus, _ file: String) -> [CorpusProblem.Reason] {
        c.problems.filter { $0.file == file }.map(\.reason)
    }

    func testRAVDESSFixture() throws {
        let t = try FixtureTree("ravdess"); defer { t.remove() }
        try t.wav("Actor_01/03-01-01-01-01-01-01.wav")
        try t.wav("Actor_01/03-01-05-02-02-01-01.wav")
        try t.wav("Actor_01/03-01-05-02-02-01-01.flac")          // .flac copy of the same utterance
        try t.wav("Actor_02/03-01-08-01-01-02-02.wav")
        try t.wav("Actor_02/03-02-03-01-01-01-02.wav")          // song
        try t.wav("Actor_02/03-01-09-01-01-01-02.wav")          // emotion 09 does not exist
        try t.wav("Actor_02/notes.wav")                         // unparsable
        try t.write("Actor_02/03-01-04-01-01-01-02.wav", Data()) // empty
        try t.text("Actor_02/readme.txt", "ignored")
        try t.wav("Actor_02/03-01-02-01-01-01-02.mp3")           // other audio format
        let c = try RAVDESSLoader().load(from: t.root)
        XCTAssertEqual(c.name, "RAVDESS")
        XCTAssertEqual(c.labels, ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"])
        XCTAssertEqual(c.entries.map(\.id), ["Actor_01/03-01-01-01-01-01-01", "Actor_01/03-01-05-02-02-01-01",
                                             "Actor_02/03-01-08-01-01-02-02"])
        XCTAssertEqual(c.entries.map(\.label), ["neutral", "angry", "surprised"])
        XCTAssertEqual(c.entries.map(\.speaker), ["Actor_01", "Actor_01", "Actor_02"])
        XCTAssertEqual(c.entries[1].tags["intensity"], "strong")
        XCTAssertEqual(c.entries[1].tags["statement"], "dogs")
        XCTAssertEqual(c.entries[0].tags["gender"], "male")
        XCTAssertEqual(c.entries[2].tags["gender"], "female")
        XCTAssertTrue(c.entries[1].path.hasSuffix(".flac"), "sorted first copy kept")
        XCTAssertEqual(reasons(c, "Actor_01/03-01-05-02-02-01-01.wav"),
                       [.duplicate(of: "Actor_01/03-01-05-02-02-01-01")])
        XCTAssertEqual(reasons(c, "Actor_02/03-01-09-01-01-01-02.wav"), [.unknownLabel("09")])
        XCTAssertEqual(reasons(c, "Actor_02/03-01-04-01-01-01-02.wav"), [.unreadable("empty file")])
        XCTAssertEqual(reasons(c, "Actor_02/03-01-02-01-01-01-02.mp3"), [.unsupportedFormat("mp3")])
        if case .unparsableName = reasons(c, "Actor_02/notes.wav").first {} else { XCTFail("notes.wav not reported") }
        XCTAssertTrue(c.problems.allSatisfy { !$0.file.hasSuffix(".txt") })
        XCTAssertEqual(c.excluded, ["RAVDESS song (vocal channel 02)": 1])
        XCTAssertEqual(c.problems.count, 5)

        let withSong = try RAVDESSLoader(includeSong: true).load(from: t.root)
        XCTAssertEqual(withSong.entries.count, 4)
        XCTAssertEqual(withSong.entries.first { $0.tags["channel"] == "song" }?.label, "happy")
    }

    func testMissingDirectoryThrowsTypedError() {
        let nowhere = URL(fileURLWithPath: "/nonexistent/ser-corpus-\(UUID())")
        for kind in CorpusKind.allCases {
            XCTAssertThrowsError(try kind.loader.load(from: nowhere), "\(kind)") { e in
                XCTAssertEqual(e as? CorpusError, .missingDirectory(nowhere.path))
                XCTAssertTrue("\(e)".contains(nowhere.path))
            }
        }
    }

    func testEmptyFolderIsNotACorpus() throws {
        let t = try FixtureTree("empty"); defer { t.remove() }
        try t.text("x.txt", "x")
        for kind in CorpusKind.allCases where kind != .manifest {
            XCTAssertThrowsError(try kind.loader.load(from: t.root), "\(kind)") { e in
                guard case .layoutNotRecognized = e as? CorpusError else { return XCTFail("\(kind): \(e)") }
            }
        }
    }

    func testEMODBFixture() throws {
        let t = try FixtureTree("emodb"); defer { t.remove() }
        try t.wav("wav/03a01Fa.wav"); try t.wav("wav/08b10Wb.wav"); try t.wav("wav/16a02Lc.flac")
        try t.wav("wav/03a01Xa.wav")              // unknown letter
        try t.wav("wav/3a01Fa.wav")               // too short
        try t.wav("wav/03a01Fa.flac")             // same utterance as a .wav
        try t.text("lablaut/03a01Fa.lablaut", "x"); try t.text("erkennung.txt", "x")
        let c = try EMODBLoader().load(from: t.root)
        XCTAssertEqual(c.labels, ["neutral", "happy", "sad", "angry", "fearful", "disgust", "bored"])
        XCTAssertEqual(c.entries.map(\.label), ["happy", "angry", "bored"])
        XCTAssertEqual(c.entries.map(\.speaker), ["03", "08", "16"])
        XCTAssertEqual(c.entries[0].tags, ["text": "a01", "version": "a", "gender": "male"])
        XCTAssertEqual(c.entries[1].tags["gender"], "female")
        XCTAssertEqual(reasons(c, "wav/03a01Xa.wav"), [.unknownLabel("X")])
        XCTAssertEqual(reasons(c, "wav/03a01Fa.wav"), [.duplicate(of: "wav/03a01Fa")])
        XCTAssertEqual(c.problems.count, 3)
    }

    func testSAVEEBothLayouts() throws {
        let t = try FixtureTree("savee"); defer { t.remove() }
        try t.wav("AudioData/DC/a01.wav"); try t.wav("AudioData/JE/sa03.wav"); try t.wav("AudioData/KL/su15.wav")
        try t.text("AudioData/Info.txt", "description")
        try t.wav("ALL/JK_n30.wav"); try t.wav("ALL/DC_a01.wav")   // the latter duplicates AudioData/DC/a01
        try t.wav("ALL/JK_x01.wav")                                 // unknown prefix
        try t.wav("AudioData/DC/hello.wav")                          // unparsable
        let c = try SAVEELoader().load(from: t.root)
        XCTAssertEqual(c.labels, ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"])
        XCTAssertEqual(Set(c.entries.map { "\($0.speaker):\($0.label)" }),
                       ["DC:angry", "JE:sad", "KL:surprised", "JK:neutral"])
        XCTAssertEqual(c.entries.first { $0.speaker == "JE" }?.tags["sentence"], "03")
        XCTAssertEqual(reasons(c, "AudioData/DC/a01.wav"), [.duplicate(of: "ALL/DC_a01")])
        XCTAssertEqual(reasons(c, "ALL/JK_x01.wav"), [.unknownLabel("x")])
        XCTAssertEqual(c.problems.count, 3, "\(c.problems)")
    }

    func testIEMOCAPFixture() throws {
        let t = try FixtureTree("iemocap"); defer { t.remove() }
        func eval(_ session: Int, _ dialog: String, _ lines: [(String, String)]) throws {
            var s = "% header\n\n"
            for (i, (turn, emo)) in lines.enumerated() {
                s += "[\(Double(i) + 0.5) - \(Double(i) + 1.75)]\t\(turn)\t\(emo)\t[2.5000, 3.0000, 3.5000]\n"
                s += "C-E1:\tNeutral;\t()\nA-E2:\tval 3; act 2; dom  2;\t()\n\n"
                if emo != "gone" { try t.wav("Session\(session)/sentences/wav/\(dialog)/\(turn).wav") }
            }
            try t.text("Session\(session)/dialog/EmoEvaluation/\(dialog).txt", s)
        }
        try eval(1, "Ses01F_impro01", [("Ses01F_impro01_F000", "neu"), ("Ses01F_impro01_M000", "exc"),
                                       ("Ses01F_impro01_F001", "fru"), ("Ses01F_impro01_M001", "xxx")])
        try eval(1, "Ses01M_script01_1", [("Ses01M_script01_1_F000", "hap"), ("Ses01M_script01_1_M000", "ang")])
        try eval(2, "Ses02F_impro03", [("Ses02F_impro03_F000", "sad"), ("Ses02F_impro03_M000", "abc")])
        try t.text("Session2/dialog/EmoEvaluation/Ses02F_impro04.txt",
                   "[1.0 - 2.0]\tSes02F_impro04_M000\tang\t[1, 2, 3]\n")     // no audio for it
        try t.text("Session1/dialog/EmoEvaluation/Categorical/Ses01F_impro01_e1_cat.txt", "not read")
        let c = try IEMOCAPLoader().load(from: t.root)
        XCTAssertEqual(c.labels, ["neutral", "happy", "sad", "angry"])
        XCTAssertEqual(c.entries.map { $0.id.split(separator: "/").last.map(String.init) ?? "" },
                       ["Ses01F_impro01_F000", "Ses01F_impro01_M000", "Ses01M_script01_1_F000",
                        "Ses01M_script01_1_M000", "Ses02F_impro03_F000"])
        XCTAssertEqual(c.entries.map(\.label), ["neutral", "happy", "happy", "angry", "sad"])
        XCTAssertEqual(c.entries.map(\.speaker), ["Ses01F", "Ses01M", "Ses01F", "Ses01M", "Ses02F"])
        let e = c.entries[1]
        XCTAssertEqual(e.tags["original"], "exc"); XCTAssertEqual(e.tags["session"], "1")
        XCTAssertEqual(e.tags["gender"], "male"); XCTAssertEqual(e.tags["type"], "improvised")
        XCTAssertEqual(e.tags["start"], "1.5"); XCTAssertEqual(e.tags["end"], "2.75")
        XCTAssertEqual(e.tags["valence"], "2.5000"); XCTAssertEqual(e.tags["dominance"], "3.5000")
        XCTAssertEqual(c.entries[2].tags["type"], "scripted")
        XCTAssertEqual(c.excluded, ["IEMOCAP label fru": 1, "IEMOCAP label xxx": 1])
        XCTAssertEqual(c.problems.map(\.reason), [
            .unknownLabel("abc"),
            .missingAudio("Session2/sentences/wav/Ses02F_impro04/Ses02F_impro04_M000.wav"),
        ])
        XCTAssertEqual(c.problems[0].file, "Session2/dialog/EmoEvaluation/Ses02F_impro03.txt:7")
        XCTAssertEqual(IEMOCAPLoader.parse(line: "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]")?.code, "neu")
        XCTAssertNil(IEMOCAPLoader.parse(line: "C-E1:\tNeutral;\t()"))
        XCTAssertThrowsError(try IEMOCAPLoader().load(from: t.root.appendingPathComponent("Session1")))
    }

    func testTESSFixture() throws {
        let t = try FixtureTree("tess"); defer { t.remove() }
        try t.wav("OAF_angry/OAF_back_angry.wav"); try t.wav("YAF_pleasant_surprised/YAF_bite_ps.wav")
        try t.wav("OAF_Fear/OAF_bite_fear.wav"); try t.wav("OA_bite_neutral.wav")
        var aiff = Data("FORM".utf8); aiff.append(Data(count: 4)); aiff.append(Data("AIFF".utf8)); aiff.append(Data(count: 12))
        try t.write("YAF_sad/YAF_wheat_sad.wav", aiff)
        try t.wav("YAF_sad/YAF_wheat_bored.wav"); try t.wav("XYZ_back_sad.wav")
        try t.wav("OAF_back_angry.wav")                          // duplicate of the foldered copy
        let c = try TESSLoader().load(from: t.root)
        XCTAssertEqual(c.labels, ["neutral", "happy", "sad", "angry", "fearful", "disgust", "surprised"])
        XCTAssertEqual(Set(c.entries.map { "\($0.speaker):\($0.label):\($0.tags["word"] ?? "")" }),
                       ["OAF:angry:back", "YAF:surprised:bite", "OAF:fearful:bite", "OAF:neutral:bite", "YAF:sad:wheat"])
        XCTAssertEqual(reasons(c, "OA_bite_neutral.wav"), [.note("prefix OA_ read as OAF")])
        if case .note(let s) = reasons(c, "YAF_sad/YAF_wheat_sad.wav").first { XCTAssertTrue(s.contains("AIFF")) }
        else { XCTFail("AIFF-in-wav not noted") }
        XCTAssertEqual(reasons(c, "YAF_sad/YAF_wheat_bored.wav"), [.unknownLabel("bored")])
        XCTAssertEqual(reasons(c, "OAF_back_angry.wav"), [.duplicate(of: "OAF_angry/OAF_back_angry")])
        if case .unparsableName = reasons(c, "XYZ_back_sad.wav").first {} else { XCTFail("XYZ not reported") }
        XCTAssertEqual(c.problems.count, 5)
    }

    func testCREMADFixture() throws {
        let t = try FixtureTree("cremad"); defer { t.remove() }
        try t.wav("AudioWAV/1001_DFA_ANG_XX.wav"); try t.wav("AudioWAV/1091_TIE_SAD_HI.wav")
        try t.wav("AudioWAV/1002_IEO_FEA_LO.wav"); try t.wav("AudioWAV/1002_IEO_SUR_LO.wav")
        try t.wav("AudioWAV/1002_IEO_NEU_QQ.wav"); try t.text("VideoDemographics.csv", "ActorID,Age\n")
        let c = try CREMADLoader().load(from: t.root)
        XCTAssertEqual(c.labels, ["neutral", "happy", "sad", "angry", "fearful", "disgust"])
        XCTAssertEqual(c.entries.map(\.speaker), ["1001", "1002", "1091"])
        XCTAssertEqual(c.entries.map(\.label), ["angry", "fearful", "sad"])
        XCTAssertEqual(c.entries[0].tags, ["sentence": "DFA", "intensity": "unspecified"])
        XCTAssertEqual(reasons(c, "AudioWAV/1002_IEO_SUR_LO.wav"), [.unknownLabel("SUR")])
        XCTAssertEqual(c.problems.count, 2)
    }

    /// `crema-d-voice`: labels from the crowd's voice-only plurality in summaryTable.csv; ties are
    /// left out and counted, clips without a row are problems, the portrayed emotion stays as a tag,
    /// and a missing table is a typed error naming it.
    func testCREMADVoiceLabelsComeFromTheCrowdsVotes() throws {
        let t = try FixtureTree("cremad-voice"); defer { t.remove() }
        try t.wav("AudioWAV/1001_DFA_ANG_XX.wav", salt: 1); try t.wav("AudioWAV/1001_IEO_HAP_LO.wav", salt: 2)
        try t.wav("AudioWAV/1002_TIE_SAD_HI.wav", salt: 3); try t.wav("AudioWAV/1002_IEO_FEA_LO.wav", salt: 4)
        XCTAssertThrowsError(try CorpusKind.cremadVoice.loader.load(from: t.root)) { e in
            guard case .unreadableMetadata(let path, _) = e as? CorpusError else { return XCTFail("\(e)") }
            XCTAssertTrue(path.hasSuffix("summaryTable.csv"))
        }
        try t.text("summaryTable.csv", """
        "","FileName","VoiceVote","VoiceLevel","FaceVote","FaceLevel","MultiModalVote","MultiModalLevel"
        "1","1001_DFA_ANG_XX","A","80","A","90","A","85"
        "2","1001_IEO_HAP_LO","N","71.67","H","57","H","57.38"
        "3","1002_TIE_SAD_HI","S:N","50","S","60","S","55"

        """)
        let c = try CorpusKind.cremadVoice.loader.load(from: t.root)
        XCTAssertEqual(c.name, "CREMA-D-voice")
        XCTAssertEqual(c.entries.map(\.label), ["angry", "neutral"], "the crowd heard the happy clip as neutral")
        XCTAssertEqual(c.entries[1].tags["intended"], "happy")
        XCTAssertEqual(c.entries[1].tags["voiceLevel"], "71.67")
        XCTAssertEqual(c.excluded, ["crowd's voice vote tied": 1])
        XCTAssertEqual(reasons(c, "AudioWAV/1002_IEO_FEA_LO.wav"), [.unknownLabel("no row in summaryTable.csv")])
        // The portrayed labels are unchanged, and read without the table's tags.
        let intended = try CREMADLoader().load(from: t.root)
        XCTAssertEqual(intended.entries.map(\.label), ["angry", "happy", "fearful", "sad"])
        XCTAssertNil(intended.entries[0].tags["intended"])
    }

    func testCSVManifest() throws {
        let t = try FixtureTree("manifest"); defer { t.remove() }
        try t.wav("audio/a.wav"); try t.wav("audio/b, with comma.wav"); try t.wav("audio/c.wav")
        let abs = try t.wav("elsewhere/d.wav")
        let lines = [
            "Speaker,path,Label,note",
            "s1,../audio/a.wav,Anger,\"said \"\"hi\"\"\"",
            "s2,\"../audio/b, with comma.wav\",happiness,\"two\nlines\"",
            "s1,../audio/c.wav,confused,x",
            "s3,../audio/missing.wav,sad,x",
            "s3,\(abs.path),boredom,x",
            "s1,../audio/a.wav,angry,again",
        ]
        try t.text("lists/m.csv", lines.joined(separator: "\r\n") + "\r\n\r\n")
        let c = try CSVManifestLoader().load(from: t.root.appendingPathComponent("lists/m.csv"))
        XCTAssertEqual(c.name, "m")
        XCTAssertEqual(c.labels, ["happy", "angry", "bored"])
        XCTAssertEqual(c.entries.count, 3)
        let a = try XCTUnwrap(c.entries.first { $0.id == "../audio/a" })
        XCTAssertEqual(a.label, "angry"); XCTAssertEqual(a.speaker, "s1")
        XCTAssertEqual(a.tags, ["note": "said \"hi\"", "original": "Anger"])
        XCTAssertEqual(a.url.standardizedFileURL.path, t.root.appendingPathComponent("audio/a.wav").standardizedFileURL.path)
        XCTAssertEqual(c.entries.first { $0.speaker == "s2" }?.tags["note"], "two\nlines")
        XCTAssertEqual(c.problems.map(\.file), ["m.csv:4", "m.csv:5", "m.csv:7"])
        XCTAssertEqual(c.problems[0].reason, .unknownLabel("confused"))
        if case .missingAudio = c.problems[1].reason {} else { XCTFail("\(c.problems[1])") }
        XCTAssertEqual(c.problems[2].reason, .duplicate(of: "../audio/a"))

        let custom = try CSVManifestLoader(name: "mine", allowCustomLabels: true)
            .load(from: t.root.appendingPathComponent("lists/m.csv"))
        XCTAssertEqual(custom.labels, ["happy", "angry", "bored", "confused"])
        XCTAssertEqual(custom.name, "mine")

        try t.text("bad.csv", "file,label\nx,y\n")
        XCTAssertThrowsError(try CSVManifestLoader().load(from: t.root.appendingPathComponent("bad.csv"))) {
            guard case .unreadableMetadata(let p, _) = $0 as? CorpusError else { return XCTFail("\($0)") }
            XCTAssertTrue(p.hasSuffix("bad.csv"))
        }
    }

    func testCSVParser() throws {
        XCTAssertEqual(try CSV.parse("a,b\n1,\"x,y\"\n\n\"q\"\"\",\n"), [["a", "b"], ["1", "x,y"], ["q\"", ""]])
        XCTAssertEqual(try CSV.parse("\u{FEFF}p\r\nz"), [["p"], ["z"]])
        XCTAssertThrowsError(try CSV.parse("a\n\"open"))
    }

    func testIdenticalContentIsReportedButKept() throws {
        let t = try FixtureTree("same"); defer { t.remove() }
        try t.wav("Actor_07/03-01-03-01-02-01-07.wav", salt: 5)
        try t.wav("Actor_07/03-01-03-01-02-02-07.wav", salt: 5)
        try t.wav("Actor_07/03-01-03-01-01-02-07.wav", salt: 6)
        let c = try RAVDESSLoader().load(from: t.root)
        XCTAssertEqual(c.entries.count, 3)
        XCTAssertEqual(c.problems, [CorpusProblem(file: "Actor_07/03-01-03-01-02-02-07",
                                                  reason: .identicalContent(to: "Actor_07/03-01-03-01-02-01-07"))])
        XCTAssertFalse(c.problems[0].reason.excludesFile)
        XCTAssertEqual(try RAVDESSLoader(checkIdenticalContent: false).load(from: t.root).problems, [])
    }

    func testEmotionAliases() {
        XCTAssertEqual(Emotion(alias: "Anger"), .angry)
        XCTAssertEqual(Emotion(alias: "pleasant surprise"), .surprised)
        XCTAssertEqual(Emotion(alias: "BOREDOM"), .bored)
        XCTAssertNil(Emotion(alias: "frustrated"))
        XCTAssertEqual(Emotion.canonicalOrder(["zeta", "bored", "neutral", "alpha", "happy"]),
                       ["neutral", "happy", "bored", "alpha", "zeta"])
    }
}
