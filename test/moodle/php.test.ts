import { expect, test } from "bun:test";
import { parseOther } from "../../src/modules/moodle/normalize";
import { phpUnserialize, PhpUnserializeError } from "../../src/modules/moodle/php";

test("scalars: i, d, b, N, s", () => {
  expect(phpUnserialize("i:42;")).toBe(42);
  expect(phpUnserialize("i:-7;")).toBe(-7);
  expect(phpUnserialize("d:0.5;")).toBe(0.5);
  expect(phpUnserialize("d:1.0E+25;")).toBe(1e25);
  expect(phpUnserialize("b:1;")).toBe(true);
  expect(phpUnserialize("b:0;")).toBe(false);
  expect(phpUnserialize("N;")).toBe(null);
  expect(phpUnserialize('s:5:"hello";')).toBe("hello");
  expect(phpUnserialize('s:0:"";')).toBe("");
});

test("string lengths are UTF-8 bytes, and may contain quotes and semicolons", () => {
  // "Bài 1" is 6 bytes in UTF-8 (à = 2 bytes).
  expect(phpUnserialize('s:6:"Bài 1";')).toBe("Bài 1");
  expect(phpUnserialize('s:7:"a";b:"c";')).toBe('a";b:"c');
});

test("arrays: a list becomes an array, keyed arrays become objects, nested", () => {
  expect(phpUnserialize('a:2:{i:0;s:1:"x";i:1;i:2;}')).toEqual(["x", 2]);
  // The shape Moodle's logstore writes for quiz events.
  const text = 'a:3:{s:11:"submitterid";s:1:"4";s:6:"quizid";s:1:"1";s:15:"studentisonline";b:1;}';
  expect(phpUnserialize(text)).toEqual({ submitterid: "4", quizid: "1", studentisonline: true });
  const nested = 'a:2:{s:6:"itemid";i:11;s:5:"extra";a:2:{s:4:"list";a:1:{i:0;d:2.5;}s:1:"n";N;}}';
  expect(phpUnserialize(nested)).toEqual({ itemid: 11, extra: { list: [2.5], n: null } });
  expect(phpUnserialize("a:0:{}")).toEqual([]);
  expect(phpUnserialize('a:1:{i:5;s:1:"x";}')).toEqual({ "5": "x" });
});

test("malformed input is an error naming the byte", () => {
  for (const bad of ['s:10:"short";', "a:2:{i:0;i:1;}", "i:x;", "O:8:\"stdClass\":0:{}", "b:2;", 'a:1:{i:0;i:1;', "i:1;junk"]) {
    expect(() => phpUnserialize(bad)).toThrow(PhpUnserializeError);
  }
});

test("parseOther accepts an object, a JSON string and a PHP string; bad ones are errors", () => {
  expect(parseOther({ a: 1 })).toBe('{"a":1}');
  expect(parseOther('{"itemid":"7","finalgrade":"0.00000"}')).toBe('{"itemid":"7","finalgrade":"0.00000"}');
  expect(parseOther('a:1:{s:15:"completionstate";i:1;}')).toBe('{"completionstate":1}');
  expect(parseOther("N;")).toBe(null);
  expect(parseOther(null)).toBe(null);
  expect(parseOther("null")).toBe(null);
  expect(() => parseOther("{not json")).toThrow();
  expect(() => parseOther('a:1:{s:99:"x";i:1;}')).toThrow();
});
