import Testing
@testable import NonRootPolicy

@Suite("ImageMemo: a list for a few images, a dictionary past them")
struct ImageMemoTests {
    @Test(arguments: [0, 1, 15, 16, 17, 100])
    func everyEntryIsFoundOnEitherSideOfTheLimit(count: Int) {
        var memo = ImageMemo<Int>()
        for index in 0..<count { memo.add("registry.example/app-\(index):1", index) }
        #expect(memo.count == count)
        for index in 0..<count { #expect(memo["registry.example/app-\(index):1"] == index) }
        #expect(memo["registry.example/app-\(count):1"] == nil)
        #expect(memo["registry.example/app-0:2"] == nil)
    }

    @Test func anEntryThatKnowsNothingIsStillAnEntry() {
        var memo = ImageMemo<Int?>()
        memo.add("busybox", nil)
        #expect(memo.count == 1)
        let entry: Int?? = memo["busybox"]
        #expect(entry == .some(nil))
        #expect(memo["nginx"] == nil)
    }
}
