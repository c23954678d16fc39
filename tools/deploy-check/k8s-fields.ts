import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { isObject, type Json } from './yaml';

/**
 * Fields the Kubernetes API does not define, found by walking an object along the kubernetes-models
 * type declarations (generated from the Kubernetes OpenAPI spec). The package's JSON-schema
 * validators let unknown fields through; the API server's strict field validation (kubectl's
 * default) rejects them, and a misspelt optional field such as `livenessprobe` would otherwise just
 * be ignored. Only parses the .d.ts files (no type checker), so it takes milliseconds.
 */

type Declaration = { node: ts.InterfaceDeclaration | ts.TypeAliasDeclaration; file: string };
type Member = { type: ts.TypeNode; file: string };

const sources = new Map<string, ts.SourceFile>();
const declarations = new Map<string, Declaration | undefined>();
const RESOLUTION: ts.CompilerOptions = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };

function source(file: string): ts.SourceFile {
  let sf = sources.get(file);
  if (!sf) sources.set(file, (sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022)));
  return sf;
}

export function resolveModule(specifier: string, from = __filename): string | undefined {
  return ts.resolveModuleName(specifier, from, RESOLUTION, ts.sys).resolvedModule?.resolvedFileName;
}

function named(element: ts.ImportSpecifier | ts.ExportSpecifier): string {
  return (element.propertyName ?? element.name).text;
}

/** Finds the interface or type alias `name` refers to in `file`, following imports and re-exports. */
function declarationOf(name: string, file: string): Declaration | undefined {
  const key = `${file}#${name}`;
  if (declarations.has(key)) return declarations.get(key);
  declarations.set(key, undefined); // cycle guard
  const statements = source(file).statements;
  let found: Declaration | undefined;
  for (const s of statements) {
    if ((ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) && s.name.text === name) found = { node: s, file };
  }
  for (const s of found ? [] : statements) {
    const spec =
      (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)
        ? s.moduleSpecifier.text
        : undefined;
    const elements =
      ts.isImportDeclaration(s) && s.importClause?.namedBindings && ts.isNamedImports(s.importClause.namedBindings)
        ? s.importClause.namedBindings.elements
        : ts.isExportDeclaration(s) && s.exportClause && ts.isNamedExports(s.exportClause)
          ? s.exportClause.elements
          : [];
    const element = elements.find((e) => e.name.text === name);
    if (!element) continue;
    const target = spec ? resolveModule(spec, file) : file;
    found = target ? declarationOf(named(element), target) : undefined;
    if (found) break;
  }
  declarations.set(key, found);
  return found;
}

type Shape = { props: Map<string, Member>; index?: Member };

/** The fields of an interface (with those it extends) or of a type literal. */
function membersOf(node: ts.InterfaceDeclaration | ts.TypeLiteralNode, file: string): Shape {
  const props = new Map<string, Member>();
  let index: Member | undefined;
  for (const heritage of ts.isInterfaceDeclaration(node) ? (node.heritageClauses ?? []) : []) {
    for (const base of heritage.types) {
      const parent = ts.isIdentifier(base.expression) ? declarationOf(base.expression.text, file) : undefined;
      if (parent && ts.isInterfaceDeclaration(parent.node)) for (const [name, member] of membersOf(parent.node, parent.file).props) props.set(name, member);
    }
  }
  for (const m of node.members) {
    if (ts.isPropertySignature(m) && m.type && (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name))) props.set(m.name.text, { type: m.type, file });
    if (ts.isIndexSignatureDeclaration(m)) index = { type: m.type, file };
  }
  return { props, index };
}

function checkObject(value: Json, shape: Shape, path: string, out: string[]): void {
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const member = shape.props.get(key) ?? shape.index;
    const childPath = path ? `${path}.${key}` : key;
    if (member) checkValue(child, member, childPath, out);
    else out.push(childPath);
  }
}

function checkValue(value: Json, { type, file }: Member, path: string, out: string[]): void {
  if (ts.isParenthesizedTypeNode(type)) return checkValue(value, { type: type.type, file }, path, out);
  if (
    ts.isArrayTypeNode(type) ||
    (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName) && type.typeName.text === 'Array' && type.typeArguments?.length === 1)
  ) {
    const element = ts.isArrayTypeNode(type) ? type.elementType : type.typeArguments![0]!;
    if (Array.isArray(value)) value.forEach((item, i) => checkValue(item, { type: element, file }, `${path}[${i}]`, out));
    return;
  }
  if (ts.isTypeLiteralNode(type)) return checkObject(value, membersOf(type, file), path, out);
  if (ts.isUnionTypeNode(type)) {
    const structured = type.types.filter((t) => ts.isTypeReferenceNode(t) || ts.isTypeLiteralNode(t) || ts.isArrayTypeNode(t));
    if (structured.length === 1) checkValue(value, { type: structured[0]!, file }, path, out);
    return;
  }
  if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
    const declaration = declarationOf(type.typeName.text, file);
    if (!declaration) return;
    const node = declaration.node;
    if (ts.isInterfaceDeclaration(node)) checkObject(value, membersOf(node, declaration.file), path, out);
    else checkValue(value, { type: node.type, file: declaration.file }, path, out);
  }
}

/** The module of an object's model: kubernetes-models, or @kubernetes-models/keda for KEDA's kinds. */
export function modelModule(object: { apiVersion: string; kind: string }): string {
  const keda = /^(eventing\.)?keda\.sh\//.test(object.apiVersion);
  // kubernetes-models/<group>/<version>/<Kind>; the core group is plain `v1`.
  return `${keda ? '@kubernetes-models/keda' : 'kubernetes-models'}/${object.apiVersion}/${object.kind}`;
}

/** The paths of `object`'s fields that its kind does not define (empty when all are known). */
export function unknownFields(object: { apiVersion: string; kind: string } & Record<string, Json>): string[] {
  const file = resolveModule(modelModule(object));
  const declaration = file ? declarationOf(`I${object.kind}`, file) : undefined;
  if (!declaration || !ts.isInterfaceDeclaration(declaration.node)) return [];
  const out: string[] = [];
  checkObject(object, membersOf(declaration.node, declaration.file), '', out);
  return out;
}
