import ImageConfig
@testable import NonRootPolicy
import Testing

struct ImageUserTests {
    /// containerd's TestGetUserFromImage and the end-to-end table of the semantics notes (§1.7).
    @Test(arguments: [
        ("", ImageUser.unset),
        ("0", .uid(0)),
        ("0:1", .uid(0)),
        ("0:0", .uid(0)),
        ("0:1000", .uid(0)),
        ("1:2:3", .uid(1)),
        ("root", .name("root")),
        ("root:root", .name("root")),
        ("test:test", .name("test")),
        ("1000", .uid(1000)),
        ("1000:1000", .uid(1000)),
        ("1000:app", .uid(1000)),
        ("app", .name("app")),
        ("app:app", .name("app")),
        ("app:1000", .name("app")),
        (":1000", .unset),
        ("-1", .uid(-1)),
        ("+42", .uid(42)),
        ("4294967296", .uid(4_294_967_296)),
        ("2147483647", .uid(2_147_483_647)),
        ("9223372036854775807", .uid(.max)),
        ("-9223372036854775808", .uid(.min)),
        ("9223372036854775808", .name("9223372036854775808")),
        (" 1000", .name(" 1000")),
        ("1_000", .name("1_000")),
        ("0x10", .name("0x10")),
        ("+", .name("+")),
        ("ContainerAdministrator", .name("ContainerAdministrator")),
    ])
    func parsesConfigUserLikeContainerd(_ input: String, _ expected: ImageUser) {
        #expect(ImageUser(configUser: input) == expected)
    }

    @Test func getImageUserTreatsNoUserAsRoot() {
        #expect(KubeletImageUser.getImageUser(.unset) == (0, ""))
        #expect(KubeletImageUser.getImageUser(.uid(5)) == (5, ""))
        #expect(KubeletImageUser.getImageUser(.name("app")) == (nil, "app"))
    }
}
