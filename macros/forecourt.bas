Attribute VB_Name = "forecourt"
' forecourt for Excel on the desktop: the "forecourt" menu (Run now, Sync now) and the time
' stamps written when a lead's status changes. The server calls go through xlwings' client
' (RunServerPython in the Remote module, BSD-licensed, imported next to this module).
' Settings: FORECOURT_URL and AUTH (the token), read with xlwings' GetConfig: a sheet named
' xlwings.conf or the file .xlwings\xlwings.conf in the user's folder (see README.md).
Option Explicit

Private Const MENU_TAG As String = "forecourt"
Private Const STAMP_FORMAT As String = "yyyy-mm-dd hh:mm"
Private Const HEADER_ROWS As Long = 10
' Headers further right than this are not looked for (a sheet formatted to its last column
' would otherwise cost a 16,384-column read on every edit).
Private Const MAX_HEADER_COLUMNS As Long = 256
Private Const STATUSES As String = "New|Attempting contact|Contacted|Appointment set|" & _
    "Appointment confirmed|Shown|No show|Offer sent|Deposit taken|Won|Lost"
Private Const CONTACT_STATUSES As String = "|Contacted|Appointment set|Appointment confirmed|" & _
    "Shown|Offer sent|Deposit taken|Won|"

' ASCII for U+00A0 to U+017F, one character per code point, as forecourt's Python fold has it:
' a letter, a space (no letter), or a capital standing for more: A=ae, O=oe, S=ss, J=ij,
' Q="1 4", H="1 2", T="3 4". tests/test_macros_static.py checks it against the Python fold.
Private Const LATIN_TO_ASCII As String = _
    "          a       23     1o QHT " & _
    "aaaaaaAceeeeiiii nooooo ouuuuy S" & _
    "aaaaaaAceeeeiiii nooooo ouuuuy y" & _
    "aaaaaaccccccccddddeeeeeeeeeegggg" & _
    "gggghh  iiiiiiiii JJjjkk lllllll" & _
    "lllnnnnnnn  ooooooOOrrrrrrssssss" & _
    "sstttt  uuuuuuuuuuuuwwyyyzzzzzzs"

'' True from the click until the server's changes are written: the stamping leaves them alone.
Private Busy As Boolean


Public Sub ForecourtRunNow()
    ForecourtCall "/run"
End Sub

Public Sub ForecourtSyncNow()
    ForecourtCall "/sync"
End Sub

Private Sub ForecourtCall(ByVal endpoint As String)
    Dim serverUrl As String, token As String, include As String, query As String

    If Busy Then
        MsgBox "forecourt is still busy with the last click: wait until it has finished.", _
            vbInformation, "forecourt"
        Exit Sub
    End If
    ' The menu belongs to Excel, not to a workbook: send this workbook, whichever is in front.
    ThisWorkbook.Activate
    If Not ForecourtSettings(serverUrl, token) Then
        Exit Sub
    End If

    Busy = True
    On Error GoTo Failed
    ' Esc while waiting raises an error here instead of stopping with events off.
    Application.EnableCancelKey = xlErrorHandler
    Application.StatusBar = "forecourt: asking the server which tabs it needs..."
    If endpoint = "/sync" Then
        ' The sync reads the saved file: the owner's edits go to the Sheet only once saved.
        Application.StatusBar = "forecourt: saving the workbook..."
        ThisWorkbook.Save
    End If
    If ForecourtTabsToSend(serverUrl, token, include) Then
        ' The full path tells the server which workbook this is (two may share a name), and
        ' lets it keep the engine's memory beside the file, as `forecourt run` does.
        query = "?id=" & ForecourtUrlEncode(ThisWorkbook.FullName)
        If include <> "" Then
            query = query & "&sent=" & ForecourtUrlEncode(include)
        End If
        ' xlwings' setValues fires Workbook_SheetChange: the server's writes are no status change.
        Application.EnableEvents = False
        Application.StatusBar = "forecourt: working..."
        RunServerPython serverUrl & endpoint & query, auth:=token, include:=include
        ' True, not the value found at the start: a run stopped in the debugger leaves events
        ' off, and the stamping needs them.
        Application.EnableEvents = True
    End If
    Busy = False
    ' xlwings shows a refusal from the server itself (a message box) and tells its caller
    ' nothing; the server never runs a macro of ours, so "finished" is all that can be said.
    Application.StatusBar = "forecourt: finished at " & Format$(Now, "hh:nn")
    Exit Sub

Failed:
    Application.EnableEvents = True
    Busy = False
    Application.StatusBar = False
    MsgBox "forecourt stopped before the end: " & Err.Description & vbNewLine & _
        "Some of the server's changes may already be in the workbook; run it again.", _
        vbExclamation, "forecourt"
End Sub

' Reads the server address and token; tells the dealer what is missing and where it goes.
Private Function ForecourtSettings(ByRef serverUrl As String, ByRef token As String) As Boolean
    Dim missing As String

    On Error GoTo Unreadable
    serverUrl = Trim$(CStr(GetConfig("FORECOURT_URL")))
    token = Trim$(CStr(GetConfig("AUTH")))
    On Error GoTo 0
    Do While Right$(serverUrl, 1) = "/"
        serverUrl = Left$(serverUrl, Len(serverUrl) - 1)
    Loop
    If serverUrl <> "" And token <> "" Then
        ForecourtSettings = True
        Exit Function
    End If

    If serverUrl = "" Then
        missing = """FORECOURT_URL"",""https://your-forecourt-server"""
    End If
    If token = "" Then
        If missing <> "" Then
            missing = missing & vbNewLine
        End If
        missing = missing & """AUTH"",""your-token"""
    End If
    MsgBox "forecourt does not know its server yet. Add this to the file " & _
        GetConfigFilePath() & " (one setting a line, with the quotes):" & vbNewLine & vbNewLine & _
        missing & vbNewLine & vbNewLine & _
        "Whoever runs forecourt serve gives you the address and the token.", _
        vbExclamation, "forecourt"
    Exit Function

Unreadable:
    MsgBox "forecourt could not read its settings: " & Err.Description, vbExclamation, "forecourt"
End Function

' Asks the server (POST /tabs) which tabs it needs, so that the rest of the workbook is not sent.
' include is "" when the server wants every tab.
Private Function ForecourtTabsToSend(ByVal serverUrl As String, ByVal token As String, _
        ByRef include As String) As Boolean
    Dim tabsClient As New WebClient
    Dim tabsRequest As New WebRequest
    Dim tabsAnswer As WebResponse
    Dim question As New Dictionary
    Dim tabNames As New Collection
    Dim i As Long

    On Error GoTo Unreachable
    For i = 1 To ActiveWorkbook.Worksheets.Count
        tabNames.Add ActiveWorkbook.Worksheets(i).Name
    Next i
    question.Add "book", ActiveWorkbook.Name
    question.Add "sheets", tabNames

    tabsRequest.Method = WebMethod.HttpPost
    tabsRequest.Format = WebFormat.Json
    Set tabsRequest.Body = question
    tabsRequest.AddHeader "Authorization", token
    tabsClient.BaseUrl = serverUrl & "/tabs?id=" & ForecourtUrlEncode(ThisWorkbook.FullName)
    ForecourtUseNetworkSettings tabsClient
    Set tabsAnswer = tabsClient.Execute(tabsRequest)

    If tabsAnswer.StatusCode = WebStatusCode.RequestTimeout Then
        ' VBA-Web reports "cannot connect" and "name not resolved" as 408 too.
        MsgBox "forecourt could not reach its server at " & serverUrl & _
            ". Check the internet connection and FORECOURT_URL." & vbNewLine & _
            "(" & tabsAnswer.StatusDescription & ")", vbExclamation, "forecourt"
        Exit Function
    End If
    If tabsAnswer.StatusCode <> WebStatusCode.Ok Then
        If Trim$(tabsAnswer.Content) <> "" Then
            MsgBox Left$(tabsAnswer.Content, 500), vbExclamation, "forecourt"
        Else
            MsgBox "forecourt's server answered " & tabsAnswer.StatusCode & " " & _
                tabsAnswer.StatusDescription & ".", vbExclamation, "forecourt"
        End If
        Exit Function
    End If
    If TypeName(tabsAnswer.Data) <> "Dictionary" Then
        MsgBox "The answer from " & serverUrl & " is not forecourt's: check FORECOURT_URL.", _
            vbExclamation, "forecourt"
        Exit Function
    End If
    If tabsAnswer.Data.Exists("include") Then
        If Not IsNull(tabsAnswer.Data("include")) Then
            include = CStr(tabsAnswer.Data("include"))
        End If
    End If
    ForecourtTabsToSend = True
    Exit Function

Unreachable:
    MsgBox "forecourt could not reach its server at " & serverUrl & ": " & Err.Description, _
        vbExclamation, "forecourt"
End Function

' The same network settings RunServerPython reads, so that /tabs goes the way /run goes.
Private Sub ForecourtUseNetworkSettings(ByVal client As WebClient)
    Dim timeoutSetting As Long

    timeoutSetting = Val(GetConfig("TIMEOUT", "0"))
    If timeoutSetting > 0 Then
        client.TimeoutMs = timeoutSetting
    Else
        client.TimeoutMs = 30000
    End If
    If GetConfig("PROXY_SERVER", "") <> "" Then
        client.proxyServer = GetConfig("PROXY_SERVER", "")
    End If
    If GetConfig("PROXY_BYPASS_LIST", "") <> "" Then
        client.proxyBypassList = GetConfig("PROXY_BYPASS_LIST", "")
    End If
    If GetConfig("PROXY_USERNAME", "") <> "" Then
        client.proxyUsername = GetConfig("PROXY_USERNAME", "")
    End If
    If GetConfig("PROXY_PASSWORD", "") <> "" Then
        client.proxyPassword = GetConfig("PROXY_PASSWORD", "")
    End If
    client.enableAutoProxy = (LCase$(GetConfig("ENABLE_AUTO_PROXY", "false")) = "true")
    client.insecure = (LCase$(GetConfig("INSECURE", "false")) = "true")
    client.followRedirects = (LCase$(GetConfig("FOLLOW_REDIRECTS", "false")) = "true")
End Sub

' Percent-encodes text as UTF-8 (VBA-Web's UrlEncode uses the ANSI code page, and tab names
' such as "Zgloszenia" with Polish letters would reach the server garbled).
Private Function ForecourtUrlEncode(ByVal plain As String) As String
    Dim i As Long, code As Long, encoded As String

    i = 1
    Do While i <= Len(plain)
        code = AscW(Mid$(plain, i, 1)) And &HFFFF&
        If code >= &HD800& And code <= &HDBFF& And i < Len(plain) Then
            ' A character beyond U+FFFF comes as two UTF-16 halves.
            i = i + 1
            code = &H10000 + (code - &HD800&) * &H400& + _
                ((AscW(Mid$(plain, i, 1)) And &HFFFF&) - &HDC00&)
        End If
        Select Case code
        Case 48 To 57, 65 To 90, 97 To 122, 45, 46, 95, 126
            encoded = encoded & ChrW(code)
        Case Is < &H80&
            encoded = encoded & ForecourtPercent(code)
        Case Is < &H800&
            encoded = encoded & ForecourtPercent(&HC0& Or (code \ &H40&)) & _
                ForecourtPercent(&H80& Or (code And &H3F&))
        Case Is < &H10000
            encoded = encoded & ForecourtPercent(&HE0& Or (code \ &H1000&)) & _
                ForecourtPercent(&H80& Or ((code \ &H40&) And &H3F&)) & _
                ForecourtPercent(&H80& Or (code And &H3F&))
        Case Else
            encoded = encoded & ForecourtPercent(&HF0& Or (code \ &H40000)) & _
                ForecourtPercent(&H80& Or ((code \ &H1000&) And &H3F&)) & _
                ForecourtPercent(&H80& Or ((code \ &H40&) And &H3F&)) & _
                ForecourtPercent(&H80& Or (code And &H3F&))
        End Select
        i = i + 1
    Loop
    ForecourtUrlEncode = encoded
End Function

Private Function ForecourtPercent(ByVal byteValue As Long) As String
    ForecourtPercent = "%" & Right$("0" & Hex$(byteValue), 2)
End Function

Public Sub ForecourtAddMenu()
#If Mac Then
    ' Excel for Mac shows no menu added by a macro: README.md explains the buttons instead.
#Else
    Const POPUP_CONTROL As Long = 10 ' msoControlPopup
    Dim menu As Object

    ForecourtRemoveMenu
    ' Controls added to the old menu bar appear in the Add-ins tab of the ribbon.
    Set menu = Application.CommandBars("Worksheet Menu Bar").Controls.Add( _
        Type:=POPUP_CONTROL, Temporary:=True)
    menu.Caption = "forecourt"
    menu.Tag = MENU_TAG
    ForecourtAddMenuItem menu, "Run now", "ForecourtRunNow"
    ForecourtAddMenuItem menu, "Sync now", "ForecourtSyncNow"
#End If
End Sub

Private Sub ForecourtAddMenuItem(ByVal menu As Object, ByVal label As String, _
        ByVal macroName As String)
    Const BUTTON_CONTROL As Long = 1 ' msoControlButton
    Dim menuItem As Object

    Set menuItem = menu.Controls.Add(Type:=BUTTON_CONTROL, Temporary:=True)
    menuItem.Caption = label
    menuItem.OnAction = macroName
    menuItem.Tag = MENU_TAG
End Sub

Public Sub ForecourtRemoveMenu()
#If Not Mac Then
    Dim menu As Object
    Dim attempt As Long

    On Error Resume Next ' no menu bar, or nothing to remove
    ' Bounded: a control that will not go away must not hang Excel.
    For attempt = 1 To 10
        Set menu = Nothing
        Set menu = Application.CommandBars("Worksheet Menu Bar").FindControl(Tag:=MENU_TAG)
        If menu Is Nothing Then
            Exit For
        End If
        menu.Delete
    Next attempt
#End If
End Sub

' Called from Workbook_SheetChange. When a lead's status is set, writes the time into the
' Status since, First response and Last contact columns (the same rules as the Google script,
' but two: Excel gives no old value, so a status typed again is stamped again; and a time cell
' the same change covered is left as the change left it, even empty, since a sort or a deleted
' row is a change of whole rows too, where Google fires no onEdit for a sort).
Public Sub ForecourtOnChange(ByVal Sh As Object, ByVal Target As Range)
    Dim headerRow As Long, statusCol As Long
    Dim firstResponseCol As Long, lastContactCol As Long, statusSinceCol As Long
    Dim lastRow As Long, hits As Range, cell As Range
    Dim status As String, stampedAt As Date

    If Busy Then
        Exit Sub
    End If
    If Not TypeOf Sh Is Worksheet Then
        Exit Sub
    End If

    On Error GoTo Failed
    If Not ForecourtFindLeadHeader(Sh, headerRow, statusCol, firstResponseCol, _
            lastContactCol, statusSinceCol) Then
        Exit Sub
    End If
    With Sh.UsedRange
        lastRow = .Row + .Rows.Count - 1
    End With
    If lastRow <= headerRow Then
        Exit Sub
    End If
    Set hits = Application.Intersect(Target, _
        Sh.Range(Sh.Cells(headerRow + 1, statusCol), Sh.Cells(lastRow, statusCol)))
    If hits Is Nothing Then
        Exit Sub
    End If

    stampedAt = Now
    Application.EnableEvents = False
    For Each cell In hits.Cells
        status = ForecourtStatus(ForecourtFold(cell.Value))
        If status <> "" Then
            ForecourtWriteTime Target, Sh, cell.Row, statusSinceCol, stampedAt, True
            If status <> "New" And status <> "Lost" Then
                ForecourtWriteTime Target, Sh, cell.Row, firstResponseCol, stampedAt, False
            End If
            If InStr(1, CONTACT_STATUSES, "|" & status & "|", vbBinaryCompare) > 0 Then
                ForecourtWriteTime Target, Sh, cell.Row, lastContactCol, stampedAt, True
            End If
        End If
    Next cell
    Application.EnableEvents = True
    Exit Sub

Failed:
    Application.EnableEvents = True
    MsgBox "forecourt could not write the times for this status change: " & Err.Description, _
        vbExclamation, "forecourt"
End Sub

' The lead table's header: the first of rows 1-10 with a status column and at least one of the
' time columns (a stock tab with only a Status column is never stamped). Columns are 0 when
' absent.
Private Function ForecourtFindLeadHeader(ByVal Sh As Worksheet, ByRef headerRow As Long, _
        ByRef statusCol As Long, ByRef firstResponseCol As Long, ByRef lastContactCol As Long, _
        ByRef statusSinceCol As Long) As Boolean
    Dim statusWords As String, firstResponseWords As String
    Dim lastContactWords As String, statusSinceWords As String
    Dim lastCol As Long, topRows As Variant, r As Long, c As Long, folded As String
    Dim whole As String, qualifiers As String, stockWords As String, isStock As Boolean

    qualifiers = ForecourtWords("qualifiers")
    statusWords = ForecourtWords("status")
    firstResponseWords = ForecourtWords("first_response_at")
    lastContactWords = ForecourtWords("last_contact_at")
    statusSinceWords = ForecourtWords("status_since")
    With Sh.UsedRange
        lastCol = .Column + .Columns.Count - 1
    End With
    If lastCol > MAX_HEADER_COLUMNS Then
        lastCol = MAX_HEADER_COLUMNS
    End If
    topRows = Sh.Range(Sh.Cells(1, 1), Sh.Cells(HEADER_ROWS, lastCol)).Value

    stockWords = ForecourtWords("stock")
    For r = 1 To HEADER_ROWS
        statusCol = 0
        firstResponseCol = 0
        lastContactCol = 0
        statusSinceCol = 0
        ' A header row with a price, mileage or year column is the stock's, however its other
        ' columns read ("Last updated" is a last-contact header).
        isStock = False
        For c = 1 To lastCol
            If ForecourtListed(stockWords, ForecourtFold(topRows(r, c))) Then
                isStock = True
                Exit For
            End If
        Next c
        c = 1
        Do While c <= lastCol And Not isStock
            ' The longest leading words that name a column, followed only by words such as
            ' "date" ("Letzter Kontakt (Datum)"); any other word makes it another column
            ' ("Last contact notes" is notes).
            whole = ForecourtFold(topRows(r, c))
            folded = whole
            Do While folded <> ""
                If ForecourtListed(statusWords, folded) Or _
                        ForecourtListed(firstResponseWords, folded) Or _
                        ForecourtListed(lastContactWords, folded) Or _
                        ForecourtListed(statusSinceWords, folded) Then
                    Exit Do
                End If
                folded = ForecourtWithoutLastWord(folded)
            Loop
            If folded <> "" And ForecourtOnlyWords(Mid$(whole, Len(folded) + 2), qualifiers) Then
                If ForecourtListed(statusWords, folded) Then
                    If statusCol = 0 Then statusCol = c
                ElseIf ForecourtListed(firstResponseWords, folded) Then
                    If firstResponseCol = 0 Then firstResponseCol = c
                ElseIf ForecourtListed(lastContactWords, folded) Then
                    If lastContactCol = 0 Then lastContactCol = c
                ElseIf statusSinceCol = 0 Then
                    statusSinceCol = c
                End If
            End If
            c = c + 1
        Loop
        If statusCol > 0 And firstResponseCol + lastContactCol + statusSinceCol > 0 Then
            headerRow = r
            ForecourtFindLeadHeader = True
            Exit Function
        End If
    Next r
End Function

' The canonical status for a folded cell value, "" when it is none of them.
Private Function ForecourtStatus(ByVal folded As String) As String
    Dim canonical As Variant, whole As String, rest As Variant

    ' The longest leading words that are a status: "Kontaktiert (Tel.)" is Kontaktiert; but
    ' not when a word after them undoes it ("Termin abgesagt", "New - no answer").
    whole = folded
    Do While folded <> ""
        For Each canonical In Split(STATUSES, "|")
            If ForecourtListed(ForecourtWords("status:" & canonical), folded) Then
                For Each rest In Split(Mid$(whole, Len(folded) + 2), " ")
                    If rest <> "" And ForecourtListed(ForecourtWords("negations"), rest) Then
                        Exit Function
                    End If
                Next rest
                ForecourtStatus = canonical
                Exit Function
            End If
        Next canonical
        folded = ForecourtWithoutLastWord(folded)
    Loop
End Function

' Whether every word of a folded text is in the word list ("" is: no words).
Private Function ForecourtOnlyWords(ByVal folded As String, ByVal words As String) As Boolean
    Dim word As Variant

    For Each word In Split(folded, " ")
        If word <> "" And Not ForecourtListed(words, CStr(word)) Then
            Exit Function
        End If
    Next word
    ForecourtOnlyWords = True
End Function

' Whether a word list "|a|b c|" holds the folded text.
Private Function ForecourtListed(ByVal words As String, ByVal folded As String) As Boolean
    ForecourtListed = InStr(1, words, "|" & folded & "|", vbBinaryCompare) > 0
End Function

' "kontaktiert tel" -> "kontaktiert"; one word -> "".
Private Function ForecourtWithoutLastWord(ByVal folded As String) As String
    Dim cut As Long

    cut = InStrRev(folded, " ")
    If cut > 0 Then
        ForecourtWithoutLastWord = Left$(folded, cut - 1)
    End If
End Function

' Writes the time into a lead's cell of a time column (col 0: the tab has no such column).
Private Sub ForecourtWriteTime(ByVal Target As Range, ByVal Sh As Worksheet, _
        ByVal leadRow As Long, ByVal col As Long, ByVal stampedAt As Date, _
        ByVal overwrite As Boolean)
    Dim cell As Range

    If col = 0 Then
        Exit Sub
    End If
    Set cell = Sh.Cells(leadRow, col)
    ' The same change wrote this cell too (a sort, a pasted or deleted row): what it wrote stands.
    If Not Application.Intersect(Target, cell) Is Nothing Then
        Exit Sub
    End If
    If Not overwrite And Not ForecourtIsBlank(cell.Value) Then
        Exit Sub
    End If
    If cell.NumberFormat = "General" Then
        cell.NumberFormat = STAMP_FORMAT
    End If
    cell.Value = stampedAt
End Sub

Private Function ForecourtIsBlank(ByVal cellValue As Variant) As Boolean
    If IsEmpty(cellValue) Then
        ForecourtIsBlank = True
    ElseIf VarType(cellValue) = vbString Then
        ForecourtIsBlank = (Trim$(cellValue) = "")
    End If
End Function

' Text as forecourt compares it: lower case, accents off, every run of anything but a-z, 0-9
' and # as one space, "#" a word of its own, no spaces at the ends.
Private Function ForecourtFold(ByVal cellValue As Variant) As String
    Dim raw As String, folded As String, piece As String
    Dim i As Long, code As Long

    If IsError(cellValue) Or IsNull(cellValue) Or IsEmpty(cellValue) Then
        Exit Function
    End If
    raw = CStr(cellValue)
    For i = 1 To Len(raw)
        code = AscW(Mid$(raw, i, 1)) And &HFFFF&
        Select Case code
        Case 48 To 57, 97 To 122
            piece = ChrW(code)
        Case 65 To 90
            piece = ChrW(code + 32)
        Case 35
            piece = " # "
        Case &HA0& To &H17F&
            piece = Mid$(LATIN_TO_ASCII, code - &HA0& + 1, 1)
            Select Case piece
            Case "A"
                piece = "ae"
            Case "O"
                piece = "oe"
            Case "S"
                piece = "ss"
            Case "J"
                piece = "ij"
            Case "Q"
                piece = "1 4"
            Case "H"
                piece = "1 2"
            Case "T"
                piece = "3 4"
            End Select
        Case &H300& To &H36F&
            ' a combining accent (text typed on a Mac may keep accents apart from letters)
            piece = ""
        Case Else
            piece = " "
        End Select
        folded = folded & piece
    Next i
    Do While InStr(1, folded, "  ", vbBinaryCompare) > 0
        folded = Replace(folded, "  ", " ")
    Loop
    ForecourtFold = Trim$(folded)
End Function

' __FORECOURT_WORDS__
